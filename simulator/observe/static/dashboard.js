"use strict";
// The dashboard reads and steers the simulator only through its control API, so it works whichever worker answers.
const SPEC = JSON.parse(document.getElementById("spec").textContent);
const $ = (id) => document.getElementById(id);
const namespaceInUrl = () => new URLSearchParams(location.hash.slice(1)).get("ns") || "default";
// epoch: one more at each switch of namespace, so a poll of the namespace left shows nothing under the new name.
// namespaces: the simulator's list as last read, at namespacesAt (Date.now()); it is read again every
// SPEC.namespaces_ms and when the selector gets the focus, not at every poll (it can hold hundreds of names).
const state = {namespace: namespaceInUrl(), epoch: 0, selected: null, requests: [], shown: {}, namespaces: [], namespacesAt: null};
// A call with no answer by then is the simulator not answering (stopped, or hung): said so, rather than waited on.
const TIMEOUT_MS = 5000;

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

// The browser's own words for a call that got no answer ("Failed to fetch") do not say the simulator is gone.
class Unreachable extends Error {}

function unreachable(error) {
  const why = error.name === "TimeoutError" ? "no answer within " + TIMEOUT_MS / 1000 + " s" : "no connection";
  return new Unreachable("the simulator at " + location.origin + " is not answering (" + why + ")");
}

async function api(method, path, body) {
  const init = {method, headers: {}, signal: AbortSignal.timeout(TIMEOUT_MS)};
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response, data;
  try {
    response = await fetch(path, init);
    data = await response.json().catch((error) => {
      if (error.name === "TimeoutError" || error.name === "AbortError") throw error;
      return null;
    });
  } catch (error) {
    throw unreachable(error);
  }
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

let listing = null;  // the read of the namespace list under way
function loadNamespaces() {
  listing = listing || api("GET", "/_sim/namespaces").then((answer) => {
    state.namespaces = answer.namespaces;
    state.namespacesAt = Date.now();
    renderNamespaces(state.namespaces);
  }).finally(() => { listing = null; });
  return listing;
}

const namespacesDue = () => state.namespacesAt === null || Date.now() - state.namespacesAt >= SPEC.namespaces_ms;

// The chosen namespace is listed (and selected) even where the list read last does not have it yet.
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

// A path wraps after its slashes (<wbr>), not inside a word, when its column is too narrow for it on one line.
function breakable(path) {
  return path.split("/").flatMap((part, i) => (i ? [el("wbr"), "/" + part] : [part]));
}

function statusText(entry) {
  return entry.status === null ? "dropped" : entry.status + (entry.error_type ? " " + entry.error_type : "");
}

function renderRequests(entries) {
  state.requests = entries;
  // By content, not ids: a reset of a shared journal numbers its requests from request_1 again.
  if (changed("requests", [entries, state.selected])) {
    // A row opens its detail by click, or by Enter or Space once focused (Tab); a re-render keeps the focus on it.
    const body = $("requests").tBodies[0];
    const focused = body.contains(document.activeElement) ? document.activeElement.dataset.id : null;
    body.replaceChildren(...entries.map((e) => el("tr", {"data-id": e.id, class: e.id === state.selected ? "selected" : "", tabindex: "0",
      "aria-expanded": String(e.id === state.selected), "aria-controls": "detail", onclick: () => select(e.id),
      onkeydown: (event) => { if (event.key === "Enter" || event.key === " ") { event.preventDefault(); select(e.id); } }},
      el("td", {title: e.iso}, e.iso.slice(11, 19)), el("td", {}, e.face), el("td", {title: e.method + " " + e.path}, el("span", {class: "request"}, e.method + " ", ...breakable(e.path))),
      el("td", {}, e.model || "—"), el("td", {}, e.n === null ? "—" : e.n),
      el("td", {class: statusClass(e), title: statusText(e)}, e.status === null ? "dropped" : String(e.status), e.error_type ? el("span", {class: "error-type"}, " " + e.error_type) : null),
      el("td", {}, Math.round(e.latency_ms * 10) / 10 + " ms"), el("td", {class: "fault"}, e.fault || ""),
      el("td", {}, e.namespace), el("td", {title: e.key ? e.key + " #" + e.key_id : null}, ...(e.key ? [e.key, " ", keyId(e.key_id)] : ["—"])))));
    const row = focused === null ? null : [...body.rows].find((tr) => tr.dataset.id === focused);
    if (row) row.focus({preventScroll: true});
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
  // What the columns a narrow screen drops showed (face, model, n, key, namespace), with the time in full.
  $("detail-sent").textContent = "sent " + entry.iso.replace("+00:00", "Z") + " · " + entry.face + " face" + (entry.model ? " · model " + entry.model : "")
    + (entry.n === null ? "" : " · n " + entry.n) + (entry.key ? " · key " + entry.key + " #" + entry.key_id : " · no key") + " · namespace " + entry.namespace;
  $("detail-answer").textContent = "answered " + (entry.status === null ? "nothing (connection dropped)" : statusText(entry))
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

function renderFaults(rules, namespace) {
  if (!changed("faults", rules)) return;
  $("faults").replaceChildren(...(rules.length ? rules.map((rule) => el("li", {"data-rule-id": rule.id},
    el("code", {}, describeRule(rule)), " ", el("button", {type: "button", "aria-label": "Remove " + rule.id, onclick: () => removeRule(rule.id, namespace)}, "Remove")))
    : [el("li", {class: "empty"}, "no rule: every request is answered normally")]));
}

// A rule is removed in the namespace it was listed in, named in the call: never in another one shown since.
async function removeRule(id, namespace) {
  await act($("rules-result"), async () => {
    await api("DELETE", "/_sim/faults/" + encodeURIComponent(id) + "?namespace=" + encodeURIComponent(namespace));
    return "removed " + id;
  });
  refresh();
}

// What a user's action (add a rule, remove one, move the clock) got is shown beside its control until the user acts
// there again: polls report only their own failures, in the banner, and never clear an action's.
async function act(output, action) {
  output.textContent = "";
  output.classList.remove("err");
  try {
    const said = await action();
    output.textContent = said || "";
    return true;
  } catch (error) {
    output.textContent = String(error.message || error);
    output.classList.add("err");
    return false;
  }
}

function showProblem(message) {
  $("problem").hidden = !message;
  $("problem").textContent = message || "";
}

const clockTime = (date) => date.toTimeString().slice(0, 8);
let failingSince = null;

// A failed poll leaves what was shown on the page, dimmed and said to be the last data; the running settings are read
// again at the next poll that works, since a simulator restarted meanwhile may run another clock.
function pollFailed(error) {
  failingSince = failingSince || new Date();
  state.config = null;
  state.namespacesAt = null;
  $("main").classList.add("stale");
  const last = " (since " + clockTime(failingSince) + "); showing the last data it gave";
  showProblem(error instanceof Unreachable ? error.message + last : String(error.message || error));
}

function pollWorked() {
  failingSince = null;
  $("main").classList.remove("stale");
  showProblem(null);
}

let polling = null;  // the epoch of the poll under way
async function refresh() {
  const epoch = state.epoch;
  if (polling === epoch) return;
  polling = epoch;
  const current = () => epoch === state.epoch;
  try {
    const scoped = Promise.all([
      api("GET", "/_sim/requests?limit=50&" + ns()), api("GET", "/_sim/usage?" + ns()), api("GET", "/_sim/faults?" + ns()),
      api("GET", "/_sim/clock?" + ns())]);
    scoped.catch(() => null);  // its failure is reported below, once the selector is filled
    // The selector comes first: when the namespace in the URL is refused, it is how the user picks another.
    const [, config] = await Promise.all([namespacesDue() ? loadNamespaces() : null, state.config || api("GET", "/_sim/config")]);
    if (!current()) return;
    state.config = config;
    renderNamespaces(state.namespaces);
    const [requests, usage, faults, clock] = await scoped;
    if (!current()) return;  // the namespace was switched meanwhile: these answers are the old one's
    renderClock(clock, config.clock);
    renderRequests(requests.requests);
    renderGallery(requests.requests, clock.now);
    renderUsage(usage.keys);
    renderFaults(faults.faults, state.namespace);
    pollWorked();
  } catch (error) {
    if (current()) pollFailed(error);
  } finally {
    if (polling === epoch) polling = null;
  }
}

function number(form, name) {
  const value = form.elements[name].value.trim();
  return value === "" ? undefined : Number(value);
}

// The fields each action uses; the others are disabled, so a value left in one neither blocks the form nor is sent.
const ACTION_FIELDS = {status: ["status", "retry_after", "message"], delay_ms: ["delay_ms"], dribble_ms: ["delay_ms"]};

function enableActionFields(form) {
  const used = ACTION_FIELDS[form.elements.kind.value] || [];
  for (const name of ["status", "retry_after", "message", "delay_ms"]) form.elements[name].disabled = !used.includes(name);
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
  const form = event.target;
  await act($("fault-result"), async () => "added " + (await api("POST", "/_sim/faults", faultRule(form))).id);
  refresh();
});

$("advance").addEventListener("click", async (event) => {
  const seconds = Number(event.target.dataset.seconds);
  if (!seconds) return;
  await act($("advance-result"), () => api("POST", "/_sim/clock/advance?" + ns(), {seconds}).then(() => ""));
  refresh();
});

function showNamespace(name) {
  if (name === state.namespace) return;
  state.namespace = name;
  state.epoch += 1;
  state.selected = null;
  state.shown = {};
  // Nothing of the namespace left behind stays on show, even if the new one is refused.
  for (const part of [$("requests").tBodies[0], $("gallery"), $("usage"), $("faults")]) part.replaceChildren();
  $("detail").hidden = true;
  for (const output of [$("fault-result"), $("rules-result"), $("advance-result")]) output.textContent = "";
  refresh();
}

// Whoever goes to pick a namespace sees those seen since the last read too: the list is read again at once.
for (const type of ["focus", "pointerdown"]) $("namespace").addEventListener(type, () => loadNamespaces().catch(() => null));

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
    const gone = error.name === "TypeError" ? " (the connection closed without a whole answer, or the simulator at " + location.origin + " is not answering)" : "";
    $("try-out").textContent = "no complete answer: " + error.message + gone;
  }
  refresh();
});

function setUpForms() {
  const fill = (select, names) => select.append(...names.map((name) => el("option", {}, name)));
  fill($("fault-form").elements.face, SPEC.faces);
  for (const [name, bounds] of Object.entries(SPEC.fault_fields)) Object.assign($("fault-form").elements[name], bounds);
  fill($("fault-form").elements.model, Object.keys(SPEC.models));
  $("fault-form").elements.kind.addEventListener("change", () => enableActionFields($("fault-form")));
  enableActionFields($("fault-form"));
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
