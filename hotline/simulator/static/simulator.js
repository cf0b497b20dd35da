// The phone simulator's page: polls /simulator/state every second and draws the phones.
// Actions are JSON POSTs with the X-Hotline-Simulator header (see views.py). No build step.
"use strict";

(function () {
  const body = document.body;
  const stateUrl = body.dataset.state;
  const actUrl = (action) => body.dataset.act.replace("ACTION", action);
  const phonesEl = document.getElementById("phones");
  const drawn = new Map(); // phone id -> {root, callsKey, threadKey}
  const LABELS = {answer: "Answer", decline: "Decline", hangup: "Hang up"};
  const KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "text") node.textContent = v;
      else if (k === "cls") node.className = v;
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const child of children || []) if (child) node.appendChild(child);
    return node;
  }

  function showError(message) {
    const box = document.getElementById("error");
    box.textContent = message || "";
  }

  async function act(action, payload) {
    showError("");
    try {
      const resp = await fetch(actUrl(action), {
        method: "POST",
        headers: {"Content-Type": "application/json", "X-Hotline-Simulator": "1"},
        body: JSON.stringify(payload || {}),
      });
      if (!resp.ok) {
        let message = "The simulator refused that (" + resp.status + ").";
        try { message = (await resp.json()).error || message; } catch (e) { /* not JSON */ }
        showError(message);
      }
    } catch (e) {
      showError("The router is not answering. Is `make run` still running?");
    }
    await refresh();
  }

  function phoneSkeleton(p) {
    const numberLine = p.role === "officer"
      ? el("div", {cls: "number"}, [
          el("input", {cls: "officer-number", type: "tel", value: p.display,
                       "aria-label": "The officer's phone number"}),
          el("button", {type: "button", cls: "set-officer", text: "Use"})])
      : el("div", {cls: "number", text: p.display});
    const root = el("section", {cls: "phone " + p.role, "data-phone": p.id}, [
      el("header", {}, [
        el("h2", {text: p.name}),
        numberLine,
        el("div", {cls: "oncall"}),
      ]),
      el("div", {cls: "calls"}),
      el("ol", {cls: "thread"}),
      el("div", {cls: "compose"}, [
        el("textarea", {rows: "2", placeholder: "Text the line...",
                        "aria-label": "Message from " + p.name}),
        el("div", {cls: "compose-buttons"}, [
          el("button", {type: "button", cls: "send", text: "Send"}),
          el("button", {type: "button", cls: "picture", text: "Send a picture",
                        title: "An MMS: the text typed, with a picture"}),
          el("button", {type: "button", cls: "call", text: "Call the line"}),
        ]),
      ]),
    ]);
    phonesEl.appendChild(root);
    return {root: root, callsKey: "", threadKey: "", number: p.number};
  }

  function drawCalls(box, calls) {
    box.replaceChildren(...calls.map((c) => {
      const panel = el("div", {cls: "call-panel", "data-state": c.state, "data-call": c.call,
                               "data-leg": c.leg || ""}, [
        el("div", {cls: "call-title", text: c.title}),
        c.subtitle ? el("div", {cls: "call-subtitle", text: c.subtitle}) : null,
        c.since ? el("div", {cls: "call-since",
                             text: (c.state === "recording" ? "recording " : "talking ") + c.since})
                : null,
      ]);
      if (c.heard && c.heard.length) {
        panel.appendChild(el("ul", {cls: "heard"},
          c.heard.map((line) => el("li", {text: line}))));
      }
      if (c.keypad) {
        panel.appendChild(el("div", {cls: "keypad"},
          KEYS.map((k) => el("button", {type: "button", "data-key": k, text: k}))));
      }
      panel.appendChild(el("div", {cls: "call-buttons"},
        c.buttons.map((b) => el("button", {type: "button", "data-action": b,
                                           cls: "btn-" + b, text: LABELS[b] || b}))));
      return panel;
    }));
  }

  function drawThread(list, thread) {
    list.replaceChildren(...thread.map((m) => el("li", {cls: "msg " + m.kind}, [
      el("span", {cls: "bubble", text: m.text}),
      el("time", {datetime: m.at, text: m.time}),
    ])));
    list.scrollTop = list.scrollHeight;
  }

  function draw(state) {
    document.getElementById("now").textContent = state.now;
    document.getElementById("ahead").textContent =
      state.ahead && state.ahead !== "0:00" ? "(" + state.ahead + " ahead of real time)" : "";
    const seen = new Set();
    for (const p of state.phones) {
      seen.add(p.id);
      let d = drawn.get(p.id);
      if (!d || d.number !== p.number) {
        if (d) d.root.remove();
        d = phoneSkeleton(p);
        drawn.set(p.id, d);
      }
      phonesEl.appendChild(d.root); // keeps the server's order
      d.root.querySelector(".oncall").textContent = p.on_call ? "on call: " + p.on_call : "";
      d.root.classList.toggle("ringing", p.calls.some((c) => c.state === "ringing"));
      const callsKey = JSON.stringify(p.calls);
      if (callsKey !== d.callsKey) {
        d.callsKey = callsKey;
        drawCalls(d.root.querySelector(".calls"), p.calls);
      }
      const threadKey = JSON.stringify(p.thread);
      if (threadKey !== d.threadKey) {
        d.threadKey = threadKey;
        drawThread(d.root.querySelector(".thread"), p.thread);
      }
    }
    for (const [id, d] of drawn) {
      if (!seen.has(id)) { d.root.remove(); drawn.delete(id); }
    }
    body.dataset.ready = "1";
  }

  let inFlight = null;
  function refresh() {
    if (inFlight) return inFlight;
    inFlight = fetch(stateUrl, {headers: {"Accept": "application/json"}})
      .then((r) => r.ok ? r.json() : Promise.reject(r.status))
      .then(draw)
      .catch(() => showError("The router is not answering. Is `make run` still running?"))
      .finally(() => { inFlight = null; });
    return inFlight;
  }

  function send(phone, picture) {
    const box = phone.querySelector("textarea");
    const text = box.value.trim();
    if (!text && !picture) return;
    box.value = "";
    act("text", {phone: phone.dataset.phone, body: text, picture: !!picture});
  }

  phonesEl.addEventListener("click", (ev) => {
    const button = ev.target.closest("button");
    if (!button) return;
    const phone = button.closest(".phone");
    const panel = button.closest(".call-panel");
    if (button.classList.contains("send")) send(phone);
    else if (button.classList.contains("picture")) send(phone, true);
    else if (button.classList.contains("call")) act("call", {phone: phone.dataset.phone});
    else if (button.classList.contains("set-officer")) {
      act("officer", {number: phone.querySelector(".officer-number").value});
    } else if (panel && button.dataset.key) {
      act("press", {call: panel.dataset.call, leg: panel.dataset.leg, key: button.dataset.key});
    } else if (panel && button.dataset.action) {
      act(button.dataset.action, {call: panel.dataset.call, leg: panel.dataset.leg});
    }
  });

  phonesEl.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && ev.target.matches(".compose textarea")) {
      ev.preventDefault();
      send(ev.target.closest(".phone"));
    }
  });

  document.querySelectorAll("[data-forward]").forEach((b) => b.addEventListener("click", () =>
    act("forward", {seconds: Number(b.dataset.forward)})));

  refresh();
  setInterval(refresh, 1000);
})();
