"""Decode a still WebP straight to a reduced size with libwebp's own scaler.

Pillow decodes every WebP through libwebp's animation decoder, which holds the full-size canvas
twice and hands Pillow a third full-size copy as bytes, which Pillow copies a fourth time into
its image: a 50-megapixel WebP of 2 KB took 765 MB. libwebp's advanced API scales while it
decodes (``WebPDecoderOptions.use_scaling``), so a lossy WebP never exists at full size, and a
lossless one only once, inside libwebp (its decoder needs every pixel for back-references).
Pillow exposes none of this, so the library Pillow itself loads is called through ctypes.

``decode_scaled`` returns None when libwebp cannot be found, for an animation, or for
anything libwebp refuses; the caller then uses Pillow's decoder as before.
"""

import ctypes
import glob
import os
from functools import cache

import PIL
from PIL import Image, features

# The decoder ABI these structures follow (src/webp/decode.h, WEBP_DECODER_ABI_VERSION); libwebp
# refuses a different major version at WebPInitDecoderConfigInternal, so a mismatch is caught.
_ABI_VERSION = 0x0209
_MODE_RGB, _MODE_RGBA = 0, 1
_OK = 0


class _Features(ctypes.Structure):
    _fields_ = [
        ("width", ctypes.c_int),
        ("height", ctypes.c_int),
        ("has_alpha", ctypes.c_int),
        ("has_animation", ctypes.c_int),
        ("format", ctypes.c_int),
        ("pad", ctypes.c_uint32 * 5),
    ]


class _RGBABuffer(ctypes.Structure):
    _fields_ = [
        ("rgba", ctypes.POINTER(ctypes.c_uint8)),
        ("stride", ctypes.c_int),
        ("size", ctypes.c_size_t),
    ]


class _YUVABuffer(ctypes.Structure):
    _fields_ = [
        *((name, ctypes.POINTER(ctypes.c_uint8)) for name in ("y", "u", "v", "a")),
        *((name, ctypes.c_int) for name in ("y_stride", "u_stride", "v_stride", "a_stride")),
        *((name, ctypes.c_size_t) for name in ("y_size", "u_size", "v_size", "a_size")),
    ]


class _Buffers(ctypes.Union):
    _fields_ = [("RGBA", _RGBABuffer), ("YUVA", _YUVABuffer)]


class _DecBuffer(ctypes.Structure):
    _fields_ = [
        ("colorspace", ctypes.c_int),
        ("width", ctypes.c_int),
        ("height", ctypes.c_int),
        ("is_external_memory", ctypes.c_int),
        ("u", _Buffers),
        ("pad", ctypes.c_uint32 * 4),
        ("private_memory", ctypes.POINTER(ctypes.c_uint8)),
    ]


class _Options(ctypes.Structure):
    _fields_ = [
        *(
            (name, ctypes.c_int)
            for name in (
                "bypass_filtering",
                "no_fancy_upsampling",
                "use_cropping",
                "crop_left",
                "crop_top",
                "crop_width",
                "crop_height",
                "use_scaling",
                "scaled_width",
                "scaled_height",
                "use_threads",
                "dithering_strength",
                "flip",
                "alpha_dithering_strength",
            )
        ),
        ("pad", ctypes.c_uint32 * 5),
    ]


class _Config(ctypes.Structure):
    _fields_ = [("input", _Features), ("output", _DecBuffer), ("options", _Options)]


@cache
def _libwebp() -> ctypes.CDLL | None:
    """The libwebp Pillow's WebP support is linked against (its wheel bundles one), or None."""
    if not features.check("webp"):
        return None
    wheel_libraries = os.path.join(os.path.dirname(PIL.__file__), "..", "pillow.libs")
    bundled = glob.glob(os.path.join(wheel_libraries, "libwebp-*"))
    for name in [*bundled, "libwebp.so.7"]:
        try:
            library = ctypes.CDLL(name)
        except OSError:
            continue
        library.WebPInitDecoderConfigInternal.argtypes = [ctypes.POINTER(_Config), ctypes.c_int]
        library.WebPGetFeaturesInternal.argtypes = [
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.POINTER(_Features),
            ctypes.c_int,
        ]
        library.WebPDecode.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(_Config)]
        library.WebPFreeDecBuffer.argtypes = [ctypes.POINTER(_DecBuffer)]
        library.WebPFreeDecBuffer.restype = None
        return library
    return None


def decode_scaled(data: bytes, size: tuple[int, int]) -> Image.Image | None:
    """A still WebP decoded straight to ``size``, as RGB, or RGBA when it has transparency."""
    library = _libwebp()
    if library is None:
        return None
    config = _Config()
    if not library.WebPInitDecoderConfigInternal(ctypes.byref(config), _ABI_VERSION):
        return None
    features_found = library.WebPGetFeaturesInternal(
        data, len(data), ctypes.byref(config.input), _ABI_VERSION
    )
    if features_found != _OK or config.input.has_animation:
        return None
    mode = "RGBA" if config.input.has_alpha else "RGB"
    config.output.colorspace = _MODE_RGBA if config.input.has_alpha else _MODE_RGB
    width, height = size
    if (width, height) != (config.input.width, config.input.height):
        config.options.use_scaling = 1
        config.options.scaled_width, config.options.scaled_height = width, height
    try:
        if library.WebPDecode(data, len(data), ctypes.byref(config)) != _OK:
            return None
        rgba = config.output.u.RGBA
        pixels = ctypes.string_at(rgba.rgba, rgba.size)
        return Image.frombytes(mode, size, pixels, "raw", mode, rgba.stride)
    finally:
        # Safe after a failed decode too: libwebp frees only what it allocated.
        library.WebPFreeDecBuffer(ctypes.byref(config.output))
