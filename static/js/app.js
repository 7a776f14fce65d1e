/* Progressive enhancement: every action here also works as a plain form post or link.
   No build step, no dependencies, no inline code (the page runs under a strict CSP). */
"use strict";

const JSON_HEADERS = { Accept: "application/json", "X-Requested-With": "fetch" };
/* Errors come back as {"error": "..."} (config/errors.py); this is for answers that are not JSON. */
const UNEXPECTED = "Something went wrong. Please try again.";

/* The attribute, not form.action: the like form has an input named "action" that shadows it. */
function formAction(form) {
  return form.getAttribute("action") || window.location.href;
}

function postForm(form, accept = "application/json") {
  return fetch(formAction(form), {
    method: "POST",
    body: new FormData(form),
    headers: { ...JSON_HEADERS, Accept: accept },
    credentials: "same-origin",
  });
}

/* Likes: the button, and a double tap on the photo. */
function setLiked(form, liked, count) {
  const button = form.querySelector("button");
  form.querySelector("input[name=action]").value = liked ? "unlike" : "like";
  button.classList.toggle("liked", liked);
  button.setAttribute("aria-pressed", String(liked));
  button.setAttribute("aria-label", liked ? "Unlike" : "Like");
  button.querySelector("path").setAttribute("fill", liked ? "currentColor" : "none");
  const post = form.closest("[data-post]");
  const counter = post && post.querySelector("[data-like-count]");
  if (counter) {
    counter.textContent = count;
    counter.nextSibling.textContent = count === 1 ? " like" : " likes";
  }
}

async function sendLike(form) {
  if (form.dataset.busy) return;
  form.dataset.busy = "1";
  try {
    const response = await postForm(form);
    if (response.ok) {
      const result = await response.json();
      setLiked(form, result.liked, result.like_count);
    }
  } finally {
    delete form.dataset.busy;
  }
}

/* Saving: the bookmark button, pressed again to unsave. */
async function sendSave(form) {
  if (form.dataset.busy) return;
  form.dataset.busy = "1";
  try {
    const response = await postForm(form);
    if (response.ok) {
      const { saved } = await response.json();
      const button = form.querySelector("button");
      form.querySelector("input[name=action]").value = saved ? "unsave" : "save";
      button.setAttribute("aria-pressed", String(saved));
      button.setAttribute("aria-label", saved ? "Remove from saved" : "Save");
      button.querySelector("path").setAttribute("fill", saved ? "currentColor" : "none");
    }
  } finally {
    delete form.dataset.busy;
  }
}

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.matches("[data-like]")) {
    event.preventDefault();
    sendLike(form);
  } else if (form.matches("[data-save]")) {
    event.preventDefault();
    sendSave(form);
  } else if (form.matches("[data-comment-form]")) {
    event.preventDefault();
    sendComment(form);
  } else if (form.matches("[data-comment-delete]")) {
    event.preventDefault();
    deleteComment(form);
  } else if (form.matches("[data-confirm]") && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
  }
});

function likeByDoubleTap(photos) {
  const post = photos.closest("[data-post]");
  const form = post && post.querySelector("[data-like]");
  if (!form) return;
  const heart = document.createElement("span");
  heart.className = "burst";
  heart.setAttribute("aria-hidden", "true");
  heart.textContent = "♥";
  photos.appendChild(heart);
  heart.addEventListener("animationend", () => heart.remove());
  if (form.querySelector("input[name=action]").value === "like") sendLike(form);
}

document.addEventListener("dblclick", (event) => {
  const photos = event.target.closest("[data-photos]");
  if (photos) {
    event.preventDefault();
    likeByDoubleTap(photos);
  }
});

let lastTap = 0;
document.addEventListener("touchend", (event) => {
  const photos = event.target.closest("[data-photos]");
  if (!photos) return;
  const now = Date.now();
  if (now - lastTap < 300) {
    event.preventDefault();
    likeByDoubleTap(photos);
    lastTap = 0;
  } else {
    lastTap = now;
  }
});

/* Comments: add and delete without reloading. */
async function sendComment(form) {
  const field = form.querySelector("textarea");
  if (!field.value.trim() || form.dataset.busy) return;
  form.dataset.busy = "1";
  try {
    const response = await postForm(form, "application/json, text/html");
    if (response.ok) {
      const post = form.closest("[data-post]");
      post.querySelector("[data-comments]").insertAdjacentHTML("beforeend", await response.text());
      const count = post.querySelector("[data-comment-count]");
      if (count) {
        count.querySelector("span").textContent = response.headers.get("X-Comment-Count");
        count.hidden = Number(response.headers.get("X-Comment-Count")) <= 2;
      }
      field.value = "";
      form.querySelector("[name=submission]").value = response.headers.get("X-Next-Submission");
      showFormError(form, "");
    } else {
      const result = await response.json().catch(() => ({}));
      showFormError(form, result.error || (result.errors || [UNEXPECTED]).join(" "));
    }
  } finally {
    delete form.dataset.busy;
  }
}

function showFormError(form, message) {
  let error = form.querySelector("[data-form-error]");
  if (!message) {
    if (error) error.remove();
    return;
  }
  if (!error) {
    error = document.createElement("p");
    error.className = "error error--form";
    error.dataset.formError = "";
    error.setAttribute("role", "alert");
    form.prepend(error);
  }
  error.textContent = message;
}

async function deleteComment(form) {
  const response = await postForm(form);
  if (response.ok) form.closest(".comment").remove();
}

document.addEventListener("keydown", (event) => {
  const field = event.target;
  if (field.matches("[data-comment-form] textarea") && event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    field.form.requestSubmit();
  }
});

/* Carousels: dots follow the scroll; arrow buttons for mouse users. */
function enhanceCarousel(photos) {
  const track = photos.querySelector(".photos__track");
  const dots = photos.querySelectorAll(".photos__dots li");
  const slides = track.children.length;
  const current = () => Math.round(track.scrollLeft / track.clientWidth);
  const update = () => {
    const index = current();
    dots.forEach((dot, i) => dot.classList.toggle("is-current", i === index));
    prev.hidden = index === 0;
    next.hidden = index === slides - 1;
  };
  const arrow = (label, step) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = `photos__arrow photos__arrow--${step < 0 ? "prev" : "next"}`;
    button.setAttribute("aria-label", label);
    button.textContent = step < 0 ? "‹" : "›";
    button.addEventListener("click", () =>
      track.scrollTo({ left: (current() + step) * track.clientWidth, behavior: "smooth" }),
    );
    photos.appendChild(button);
    return button;
  };
  const prev = arrow("Previous photo", -1);
  const next = arrow("Next photo", 1);
  track.addEventListener("scroll", update, { passive: true });
  update();
}

/* Infinite scroll: load the next page when its "more" link comes into view. */
function enhanceMore(link) {
  const observer = new IntersectionObserver(async (entries) => {
    if (!entries.some((entry) => entry.isIntersecting) || link.dataset.busy) return;
    link.dataset.busy = "1";
    link.textContent = "Loading…";
    const response = await fetch(link.href, { credentials: "same-origin" });
    if (!response.ok) {
      link.textContent = "More";
      delete link.dataset.busy;
      return;
    }
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const list = document.querySelector("[data-infinite]");
    const items = page.querySelector("[data-infinite]");
    list.append(...items.children);
    list.querySelectorAll(".photos--carousel:not([data-enhanced])").forEach(enhance);
    const more = page.querySelector("[data-more]");
    observer.disconnect();
    if (more) {
      link.replaceWith(more);
      enhanceMore(more);
    } else {
      link.remove();
    }
  }, { rootMargin: "600px" });
  observer.observe(link);
}

function enhance(photos) {
  photos.dataset.enhanced = "1";
  enhanceCarousel(photos);
}

/* New post: photos shrunk in the browser before they are sent, previews, alt text beside each
   photo, a progress bar, errors beside their photo. */

/* The photo as a JPEG whose long side is at most `maxSide`, upright (its EXIF orientation
   applied), transparency on white as the server does it (posts/images.py). The file itself when
   it is small enough already, when this browser cannot decode it (HEIC in Chromium), or when the
   JPEG would not be smaller: the server takes whatever it takes without JavaScript. */
async function shrunk(file, maxSide, quality) {
  if (!maxSide || typeof createImageBitmap !== "function" || typeof OffscreenCanvas !== "function") {
    return file;
  }
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  } catch {
    return file;
  }
  try {
    const scale = maxSide / Math.max(bitmap.width, bitmap.height);
    if (scale >= 1) return file;
    const canvas = new OffscreenCanvas(
      Math.max(1, Math.round(bitmap.width * scale)),
      Math.max(1, Math.round(bitmap.height * scale)),
    );
    const context = canvas.getContext("2d");
    context.fillStyle = "#fff";
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.imageSmoothingQuality = "high";
    context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    const blob = await canvas.convertToBlob({ type: "image/jpeg", quality });
    if (blob.size >= file.size) return file;
    const name = `${file.name.replace(/\.[^.]*$/, "") || "photo"}.jpg`;
    return new File([blob], name, { type: "image/jpeg", lastModified: file.lastModified });
  } catch {
    return file;
  } finally {
    bitmap.close();
  }
}

/* A square standing in for a photo that shows no preview: its kind (from the name) and a note. */
function photoTile(file, note) {
  const tile = document.createElement("div");
  tile.className = "preview__tile";
  const kind = document.createElement("strong");
  const extension = /\.([^./]{1,8})$/.exec(file.name);
  kind.textContent = extension ? extension[1].toUpperCase() : "File";
  const text = document.createElement("span");
  text.textContent = note;
  tile.append(kind, text);
  return tile;
}

function enhanceNewPost(form) {
  const input = form.querySelector("input[type=file]");
  const field = input.closest(".field");
  const picker = form.querySelector(`label[for="${input.id}"]`);
  const previews = form.querySelector("[data-previews]");
  const slots = [...form.querySelectorAll("[data-alt-slot]")];
  const fieldset = form.querySelector("[data-alt-texts]");
  const status = form.querySelector("[data-progress]");
  const bar = status.querySelector("progress");
  const label = status.querySelector("[data-progress-text]");
  const submit = form.querySelector("button[type=submit]");
  const max = slots.length;
  /* Each chosen photo: its file, the promise of the file to send, and whether it previews. The
     copies are made one after another as photos are chosen, so one decoded photo at a time
     takes the phone's memory, and most are ready by the time Share is pressed. */
  let photos = [];
  let shrinking = Promise.resolve();

  fieldset.hidden = true;
  // The input empties after each choice (to add more), so its own "No file chosen" would be
  // wrong beside the previews: the label is the button, the input stays for keyboards.
  input.classList.add("visually-hidden");
  picker.classList.add("button", "button--secondary", "picker");
  render();

  input.addEventListener("change", () => {
    for (const file of [...input.files].slice(0, max - photos.length)) {
      const sending = shrinking.then(() =>
        shrunk(file, Number(input.dataset.shrinkTo), Number(input.dataset.shrinkQuality)),
      );
      shrinking = sending;
      photos.push({ file, sending, previews: true });
    }
    input.value = "";
    showMissing(false);
    render();
  });

  function render(refusals = {}, altErrors = {}) {
    previews.replaceChildren();
    photos.forEach((photo, index) => {
      const item = document.createElement("li");
      item.className = "preview";
      item.dataset.index = index;
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "preview__remove";
      remove.setAttribute("aria-label", `Remove photo ${index + 1}`);
      remove.textContent = "×";
      remove.addEventListener("click", () => {
        photos.splice(index, 1);
        render();
      });
      const slot = slots[index];
      slot.querySelector("label").textContent = `Alt text for photo ${index + 1} (${photo.file.name})`;
      slot.querySelectorAll(".error").forEach((old) => old.remove());
      slot.classList.toggle("field--error", index in altErrors);
      if (index in altErrors) slot.appendChild(errorLine(altErrors[index]));
      if (index in refusals) {
        // Refused: a tile and the reason in place of the photo and its alt text.
        item.classList.add("preview--refused");
        const reason = document.createElement("div");
        reason.className = "preview__reason";
        const name = document.createElement("p");
        name.className = "preview__name";
        name.textContent = `Photo ${index + 1} (${photo.file.name}) can't be shared`;
        reason.append(name, errorLine(refusals[index]));
        item.append(photoTile(photo.file, "Refused"), remove, reason);
        fieldset.appendChild(slot);
      } else {
        item.append(preview(photo, index), remove, slot);
      }
      previews.appendChild(item);
    });
    slots.slice(photos.length).forEach((slot) => fieldset.appendChild(slot));
    picker.textContent = photos.length ? "Add more photos" : "Choose photos";
  }

  function preview(photo, index) {
    if (!photo.previews) return photoTile(photo.file, "No preview");
    const image = document.createElement("img");
    image.src = URL.createObjectURL(photo.file);
    image.alt = `Preview of photo ${index + 1}`;
    image.addEventListener("load", () => URL.revokeObjectURL(image.src));
    // A file this browser cannot show (HEIC in Chromium, or no image at all) gets a tile rather
    // than a broken-image icon; the server decides whether it is a photo.
    image.addEventListener("error", () => {
      URL.revokeObjectURL(image.src);
      photo.previews = false;
      image.replaceWith(photoTile(photo.file, "No preview"));
    });
    return image;
  }

  function errorLine(message) {
    const error = document.createElement("p");
    error.className = "error";
    error.setAttribute("role", "alert");
    error.textContent = message;
    return error;
  }

  function showMissing(missing) {
    field.classList.toggle("field--error", missing);
    field.querySelectorAll("[data-missing]").forEach((old) => old.remove());
    if (!missing) return;
    const error = errorLine(input.dataset.requiredMessage);
    error.dataset.missing = "";
    field.appendChild(error);
    input.focus();
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (form.dataset.busy) return;
    if (!photos.length) {
      showMissing(true);
      return;
    }
    form.dataset.busy = "1";
    submit.disabled = true;
    const count = `${photos.length} photo${photos.length === 1 ? "" : "s"}`;
    status.hidden = false;
    status.dataset.state = "preparing";
    label.textContent = `Preparing ${count}…`;
    bar.removeAttribute("value");
    const files = await Promise.all(photos.map((photo) => photo.sending));
    const data = new FormData();
    data.append("csrfmiddlewaretoken", form.querySelector("[name=csrfmiddlewaretoken]").value);
    data.append("caption", form.querySelector("[name=caption]").value);
    data.append("submission", form.querySelector("[name=submission]").value);
    files.forEach((file, index) => {
      data.append("photos", file, file.name);
      data.append("alt_text", slots[index].querySelector("input").value);
    });
    send(data, count);
  });

  /* A 429 with Retry-After means the server is busy with other photos (config/decode_slots.py):
     the same post (same one-time key) goes again after the wait, without asking. */
  function send(data, count) {
    const request = new XMLHttpRequest();
    request.open("POST", formAction(form));
    request.setRequestHeader("Accept", "application/json");
    request.upload.addEventListener("progress", (progress) => {
      if (progress.lengthComputable) bar.value = Math.round((progress.loaded / progress.total) * 100);
    });
    request.addEventListener("load", () => {
      let result = {};
      try {
        result = JSON.parse(request.responseText);
      } catch {
        result = { error: UNEXPECTED };
      }
      const retryAfter = Number(request.getResponseHeader("Retry-After"));
      if (request.status === 429 && retryAfter > 0 && retryAfter <= 60) {
        status.dataset.state = "waiting";
        label.textContent = result.error || "Busy, sending again…";
        window.setTimeout(() => send(data, count), retryAfter * 1000);
        return;
      }
      if (request.status === 201) {
        bar.value = 100;
        status.dataset.state = "done";
        label.textContent = "Shared!";
        window.setTimeout(() => window.location.assign(result.url), 400);
        return;
      }
      finish(result);
    });
    request.addEventListener("error", () =>
      finish({ errors: { __all__: ["The upload failed. Check your connection and try again."] } }),
    );
    status.dataset.state = "uploading";
    label.textContent = `Uploading ${count}…`;
    bar.value = 0;
    request.send(data);
  }

  function finish(result) {
    delete form.dataset.busy;
    submit.disabled = false;
    status.hidden = true;
    status.dataset.state = "failed";
    const refusals = result.photo_errors || {};
    const altErrors = result.alt_errors || {};
    render(refusals, altErrors);
    const errors = result.errors || {};
    // An error the whole request met (config/errors.py: CSRF, too large, too many files).
    const general = result.error ? [result.error] : [];
    general.push(...(errors.__all__ || []), ...(errors.caption || []));
    const besidePhotos = Object.keys(refusals).length + Object.keys(altErrors).length;
    if (errors.photos && !besidePhotos) general.push(...errors.photos);
    showFormError(form, general.join(" "));
    const first = form.querySelector(".error");
    if (first) first.scrollIntoView({ block: "center" });
  }
}

document.querySelectorAll(".photos--carousel").forEach(enhance);
document.querySelectorAll("[data-more]").forEach(enhanceMore);
document.querySelectorAll("[data-new-post]").forEach(enhanceNewPost);
