"""Django's upload handlers, reading a multipart body a megabyte at a time instead of 64 KB.

Django's parser takes a few Python steps for every chunk it reads (through gunicorn's reader,
then finding the boundary and holding its length back); a 4.5 MB photo took 73 rounds of them
at 64 KB. The parser reads the smallest chunk size among its handlers, so both get this one.
It costs one chunk of memory per body being parsed.
"""

from django.core.files import uploadhandler

CHUNK_BYTES = 1_048_576


class MemoryFileUploadHandler(uploadhandler.MemoryFileUploadHandler):
    chunk_size = CHUNK_BYTES


class TemporaryFileUploadHandler(uploadhandler.TemporaryFileUploadHandler):
    chunk_size = CHUNK_BYTES
