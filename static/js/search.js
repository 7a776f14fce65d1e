/* Suggestions under every search box as you type. Without this script the box is a plain form
   that opens /search/?q=. Suggestions are built with textContent, never as HTML. */
"use strict";

const SUGGEST_DELAY_MS = 200;

function suggestionItem(list, { href, label, detail, avatar, initial }) {
  const item = document.createElement("li");
  item.setAttribute("role", "presentation");
  const link = document.createElement("a");
  link.href = href;
  link.className = "suggest__item";
  link.setAttribute("role", "option");
  link.id = `${list.id}-${list.children.length}`;
  if (avatar !== undefined) {
    let picture;
    if (avatar) {
      picture = document.createElement("img");
      picture.src = avatar;
      picture.alt = "";
    } else {
      picture = document.createElement("span");
      picture.className = "avatar--empty";
      picture.textContent = initial;
      picture.setAttribute("aria-hidden", "true");
    }
    picture.classList.add("avatar");
    picture.dataset.size = "32";
    picture.width = picture.height = 32;
    link.append(picture);
  } else {
    const mark = document.createElement("span");
    mark.className = "suggest__tag";
    mark.setAttribute("aria-hidden", "true");
    link.append(mark);
  }
  const text = document.createElement("span");
  text.className = "suggest__text";
  const strong = document.createElement("strong");
  strong.textContent = label;
  text.append(strong);
  if (detail) {
    const small = document.createElement("span");
    small.className = "muted";
    small.textContent = detail;
    text.append(document.createElement("br"), small);
  }
  link.append(text);
  item.append(link);
  list.append(item);
}

function enhanceSearch(form, number) {
  const input = form.querySelector("input[name=q]");
  const list = document.createElement("ul");
  list.id = `suggest-${number}`;
  list.className = "suggest";
  list.setAttribute("role", "listbox");
  list.setAttribute("aria-label", "Suggestions");
  list.hidden = true;
  form.append(list);
  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-controls", list.id);
  input.setAttribute("aria-expanded", "false");

  let timer = null;
  let pending = null;
  let shownFor = null;

  function close() {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  function show(answer) {
    list.replaceChildren();
    for (const person of answer.people) {
      suggestionItem(list, {
        href: person.url,
        label: person.username,
        detail: [person.full_name, person.private ? "Private" : ""].filter(Boolean).join(" · "),
        avatar: person.avatar,
        initial: person.username.slice(0, 1).toUpperCase(),
      });
    }
    for (const tag of answer.tags) {
      suggestionItem(list, { href: tag.url, label: `#${tag.name}` });
    }
    if (!list.children.length) {
      const none = document.createElement("li");
      none.className = "suggest__none muted";
      none.textContent = "No results.";
      list.append(none);
    }
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
  }

  async function suggest() {
    const text = input.value.trim();
    if (!text || text === "#" || text === "@") {
      close();
      shownFor = null;
      return;
    }
    if (text === shownFor) return;
    if (pending) pending.abort();
    pending = new AbortController();
    const url = new URL(form.getAttribute("action"), window.location.href);
    url.searchParams.set("q", text);
    try {
      const response = await fetch(url, {
        headers: { Accept: "application/json", "X-Requested-With": "fetch" },
        credentials: "same-origin",
        signal: pending.signal,
      });
      if (!response.ok) return;
      const answer = await response.json();
      // An answer to older text than the box holds now is dropped.
      if (input.value.trim() !== text) return;
      shownFor = text;
      show(answer);
    } catch (error) {
      if (error.name !== "AbortError") close();
    }
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(suggest, SUGGEST_DELAY_MS);
  });
  input.addEventListener("focus", () => {
    if (shownFor && input.value.trim() === shownFor) {
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }
  });

  function options() {
    return Array.from(list.querySelectorAll("[role=option]"));
  }

  input.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      close();
      return;
    }
    if (list.hidden || !["ArrowDown", "ArrowUp", "Enter"].includes(event.key)) return;
    const all = options();
    const current = all.findIndex((option) => option.getAttribute("aria-selected") === "true");
    if (event.key === "Enter") {
      // Enter on a chosen suggestion opens it; otherwise the form opens the search page.
      if (current >= 0) {
        event.preventDefault();
        window.location.assign(all[current].href);
      }
      return;
    }
    event.preventDefault();
    if (!all.length) return;
    const step = event.key === "ArrowDown" ? 1 : -1;
    const next = (current + step + all.length + (current < 0 && step < 0 ? 1 : 0)) % all.length;
    all.forEach((option, index) => option.setAttribute("aria-selected", String(index === next)));
    input.setAttribute("aria-activedescendant", all[next].id);
  });

  document.addEventListener("click", (event) => {
    if (!form.contains(event.target)) close();
  });
}

document.querySelectorAll("[data-search]").forEach(enhanceSearch);
