"use strict";
// The dashboard reads and steers the simulator only through its control API, so it works whichever worker answers.
const SPEC = JSON.parse(document.getElementById("spec").textContent);
const $ = (id) => document.getElementById(id);
const namespaceInUrl = () => new URLSearchParams(location.hash.slice(1)).get("ns") || "default";
const state = {namespace: namespaceInUrl(), selected: null, requests: [], shown: {}};

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (value !== null && value !== undefined) node.setAttribute(name, value);
  }
  for (const child of children) node.append(child === null || child === undefined ? "" : child);
  return node;
}

function ns() {
  return "namespace=" + encodeURIComponent(state.namespace);
}

async function api(method, path, body) {
  const init = {method, headers: {}};
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new Error((data && data.error && data.error.message) || response.status + " " + response.statusText);
  return data;
}

// Re-render a part only when its data changed, so the page does not flicker or refetch images on every poll.
function changed(part, data) {
  const text = JSON.stringify(data);
  if (state.shown[part] === text) return false;
  state.shown[part] = text;
  return true;
}

function renderNamespaces(names) {
  if (!names.includes(state.namespace)) names = [...names, state.namespace];
  if (!changed("namespaces", names)) return;
  $("namespace").replaceChildren(...names.map((name) => el("option", {selected: name === state.namespace ? "" : null}, name)));
}

function renderClock(clock, mode) {
  $("clock-iso").textContent = clock.iso.replace("+00:00", "Z");
  $("clock-mode").textContent = "(" + mode + " clock)";
  $("advance").hidden = mode !== "manual";
}

function statusClass(entry) {
  if (entry.fault) return "fault";
  return entry.status !== null && entry.status < 400 ? "ok" : "err";
}

function renderRequests(entries) {
  state.requests = entries;
  // By content, not ids: a reset of a shared journal numbers its requests from request_1 again.
  if (changed("requests", [entries, state.selected])) {
    $("requests").tBodies[0].replaceChildren(...entries.map((e) => el("tr", {"data-id": e.id, class: e.id === state.selected ? "selected" : "", onclick: () => select(e.id)},
      el("td", {title: e.iso}, e.iso.slice(11, 19)), el("td", {}, e.face), el("td", {title: e.method + " " + e.path}, e.method + " " + e.path),
      el("td", {}, e.model || "—"), el("td", {}, e.n === null ? "—" : e.n),
      el("td", {class: statusClass(e)}, e.status === null ? "dropped" : e.status + (e.error_type ? " " + e.error_type : "")),
      el("td", {}, Math.round(e.latency_ms * 10) / 10 + " ms"), el("td", {class: "fault"}, e.fault || ""),
      el("td", {}, e.namespace), el("td", {}, ...(e.key ? [e.key, " ", keyId(e.key_id)] : ["—"])))));
  }
  renderDetail();
}

function select(id) {
  state.selected = state.selected === id ? null : id;
  state.shown.requests = null;
  renderRequests(state.requests);
}

function renderDetail() {
  const entry = state.requests.find((e) => e.id === state.selected);
  $("detail").hidden = !entry;
  if (!entry) return;
  $("detail-id").textContent = entry.id + " · " + entry.method + " " + entry.path;
  $("detail-answer").textContent = "answered " + (entry.status === null ? "nothing (connection dropped)" : entry.status + (entry.error_type ? " " + entry.error_type : ""))
    + (entry.fault ? " · fault " + entry.fault : "") + " · " + entry.latency_ms + " ms server time · images: " + (entry.image_ids.join(", ") || "none")
    + (entry.request_id ? " · x-request-id " + entry.request_id : "");
  // What the client read of a refusal: the message, and the field it names where the face's envelope names one.
  const said = [entry.error_message, entry.error_param && "field: " + entry.error_param].filter(Boolean);
  $("detail-error").hidden = !said.length;
  $("detail-error").textContent = said.join(" · ");
  $("detail-body").textContent = JSON.stringify(entry.body, null, 2);
}

// An image's URL expires by the namespace's clock, which the browser's cache knows nothing of (it counts max-age in
// real seconds, and the clock may be advanced): an image past its hour is shown expired without asking for it.
function renderGallery(entries, now) {
  const images = [];
  for (const e of entries) {
    if (e.status === null || e.status >= 400) continue;
    const expired = now >= e.time + SPEC.image_url_seconds;
    for (const id of e.image_ids) images.push({id, model: e.model, size: e.size, prompt: e.prompt || "", expired});
  }
  const latest = images.slice(0, 12);
  if (!changed("gallery", latest)) return;
  $("gallery").replaceChildren(...(latest.length ? latest.map((image) => el("figure", {"data-image": image.id, "data-expired": image.expired},
    image.expired ? el("span", {class: "expired", title: "its URL expired an hour after it was made"}, "expired")
      : el("img", {src: "/images/" + encodeURIComponent(image.id) + ".png", alt: image.prompt, loading: "lazy", onerror: (ev) => { ev.target.alt = "expired"; }}),
    el("figcaption", {title: image.prompt}, el("b", {}, image.model), " " + image.size, el("br"), image.prompt))) : [el("p", {class: "empty"}, "no image among the latest 50 requests")]));
}

function bar(window, figures, label) {
  const share = figures.limit ? Math.min(100, (100 * figures.used) / figures.limit) : 0;
  return el("div", {class: "bar" + (figures.remaining === 0 ? " full" : ""), "data-window": window, "data-used": figures.used, "data-limit": figures.limit,
    title: figures.remaining + " left, resets in " + figures.reset_seconds + " s"},
    el("span", {style: "width:" + share + "%"}), el("em", {}, figures.used + " / " + figures.limit + " " + label));
}

// Every free test key masks to "pk_test_free…": the key id beside it tells them apart.
function keyId(id) {
  return el("small", {class: "key-id", title: "key id: the start of the key's digest"}, "#" + id);
}

function renderUsage(keys) {
  if (!changed("usage", keys)) return;
  $("usage").replaceChildren(...(keys.length ? keys.map((k) => el("div", {class: "key", "data-key": k.key, "data-key-id": k.key_id, "data-face": k.face},
    el("b", {}, k.key), " ", keyId(k.key_id), " " + k.tier + " · " + k.face + " face", bar("minute", k.minute, "images this minute"), bar("day", k.day, "images today"))) : [el("p", {class: "empty"}, "no key has used its windows yet")]));
}

function describeRule(rule) {
  const match = Object.entries(rule.match).map(([k, v]) => k + "=" + v).join(" ") || "every request";
  const action = Object.entries(rule.action).map(([k, v]) => (v === true ? k : k + "=" + v)).join(";");
  const left = rule.times === null ? "until removed" : rule.remaining + " of " + rule.times + " left";
  return match + " → " + action + " · " + left + (rule.probability !== null && rule.probability !== 1 ? " · p=" + rule.probability : "") + " · fired " + rule.fired;
}

function renderFaults(rules) {
  if (!changed("faults", rules)) return;
  $("faults").replaceChildren(...(rules.length ? rules.map((rule) => el("li", {"data-rule-id": rule.id},
    el("code", {}, describeRule(rule)), " ", el("button", {type: "button", onclick: () => removeRule(rule.id)}, "Remove"))) : [el("li", {class: "empty"}, "no rule: every request is answered normally")]));
}

async function removeRule(id) {
  await guarded(() => api("DELETE", "/_sim/faults/" + encodeURIComponent(id)));
  refresh();
}

function showProblem(message) {
  $("problem").hidden = !message;
  $("problem").textContent = message || "";
}

async function guarded(action) {
  try {
    const result = await action();
    showProblem(null);
    return result;
  } catch (error) {
    showProblem(String(error.message || error));
    return null;
  }
}

let refreshing = false;
async function refresh() {
  if (refreshing) return;
  refreshing = true;
  await guarded(async () => {
    const scoped = Promise.all([
      api("GET", "/_sim/requests?limit=50&" + ns()), api("GET", "/_sim/usage?" + ns()), api("GET", "/_sim/faults?" + ns()),
      api("GET", "/_sim/clock?" + ns())]);
    scoped.catch(() => null);  // its failure is reported below, once the selector is filled
    // The selector comes first: when the namespace in the URL is refused, it is how the user picks another.
    const [namespaces, config] = await Promise.all([api("GET", "/_sim/namespaces"), state.config || api("GET", "/_sim/config")]);
    state.config = config;
    renderNamespaces(namespaces.namespaces);
    const [requests, usage, faults, clock] = await scoped;
    renderClock(clock, config.clock);
    renderRequests(requests.requests);
    renderGallery(requests.requests, clock.now);
    renderUsage(usage.keys);
    renderFaults(faults.faults);
  });
  refreshing = false;
}

function number(form, name) {
  const value = form.elements[name].value.trim();
  return value === "" ? undefined : Number(value);
}

function faultRule(form) {
  const match = {};
  for (const name of ["face", "path", "model", "prompt"]) if (form.elements[name].value.trim()) match[name] = form.elements[name].value.trim();
  const kind = form.elements.kind.value;
  const action = {};
  if (kind === "status") {
    action.status = number(form, "status");
    if (number(form, "retry_after") !== undefined) action.retry_after = number(form, "retry_after");
    if (form.elements.message.value.trim()) action.message = form.elements.message.value.trim();
  } else if (kind === "delay_ms" || kind === "dribble_ms") action[kind] = number(form, "delay_ms");
  else action[kind] = true;
  const rule = {match, action, namespace: state.namespace};
  if (number(form, "times") !== undefined) rule.times = number(form, "times");
  if (number(form, "probability") !== undefined) rule.probability = number(form, "probability");
  return rule;
}

$("fault-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const rule = await guarded(() => api("POST", "/_sim/faults", faultRule(event.target)));
  $("fault-result").textContent = rule ? "added " + rule.id : "";
  refresh();
});

$("advance").addEventListener("click", async (event) => {
  const seconds = Number(event.target.dataset.seconds);
  if (!seconds) return;
  await guarded(() => api("POST", "/_sim/clock/advance?" + ns(), {seconds}));
  refresh();
});

function showNamespace(name) {
  if (name === state.namespace) return;
  state.namespace = name;
  state.selected = null;
  state.shown = {};
  // Nothing of the namespace left behind stays on show, even if the new one is refused.
  for (const part of [$("requests").tBodies[0], $("gallery"), $("usage"), $("faults")]) part.replaceChildren();
  $("detail").hidden = true;
  refresh();
}

$("namespace").addEventListener("change", (event) => {
  history.replaceState(null, "", "#ns=" + encodeURIComponent(event.target.value));
  showNamespace(event.target.value);
});

// The URL names the namespace: editing its #ns= (or going back to an earlier one) shows that namespace.
window.addEventListener("hashchange", () => showNamespace(namespaceInUrl()));

$("try-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const body = {prompt: form.elements.prompt.value, model: form.elements.model.value, n: number(form, "n")};
  if (form.elements.size.value.trim()) body.size = form.elements.size.value.trim();
  const headers = {Authorization: "Bearer " + form.elements.key.value, "Content-Type": "application/json"};
  if (state.namespace !== "default") headers["X-Sim-Namespace"] = state.namespace;
  // A fault rule may answer with a body that is not JSON (malformed), cut short (truncate) or nothing (drop, reset):
  // show what came, as an app under test would get it.
  $("try-img").src = "";
  try {
    const response = await fetch("/v1/images/generations", {method: "POST", headers, body: JSON.stringify(body)});
    const text = await response.text();
    let data = null;
    try {
      data = JSON.parse(text);
    } catch {
      $("try-out").textContent = response.status + " (not JSON)\n" + text.slice(0, 2000);
    }
    if (data !== null) {
      $("try-out").textContent = response.status + " " + JSON.stringify(data, null, 2);
      const first = response.ok && Array.isArray(data.data) ? data.data[0] : null;
      if (first && first.url) $("try-img").src = first.url;
    }
  } catch (error) {
    $("try-out").textContent = "no complete answer: " + error.message;
  }
  refresh();
});

function setUpForms() {
  const fill = (select, names) => select.append(...names.map((name) => el("option", {}, name)));
  fill($("fault-form").elements.face, SPEC.faces);
  for (const [name, bounds] of Object.entries(SPEC.fault_fields)) Object.assign($("fault-form").elements[name], bounds);
  fill($("fault-form").elements.model, Object.keys(SPEC.models));
  const model = $("try-form").elements.model;
  fill(model, Object.keys(SPEC.models));
  const sizes = () => {
    const spec = SPEC.models[model.value];
    $("sizes").replaceChildren(...spec.sizes.map((size) => el("option", {value: size})));
    $("try-form").elements.n.max = spec.max_n;
  };
  model.addEventListener("change", sizes);
  sizes();
  $("try-form").elements.key.value = SPEC.key;
}

setUpForms();
refresh();
setInterval(refresh, SPEC.poll_ms);
