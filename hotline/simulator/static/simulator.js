// The phone simulator's page: polls /simulator/state every second and draws the phones.
// Actions are JSON POSTs with the X-Hotline-Simulator header (see views.py). No build step.
"use strict";

(function () {
  const body = document.body;
  const stateUrl = body.dataset.state;
  const actUrl = (action) => body.dataset.act.replace("ACTION", action);
  const phonesEl = document.getElementById("phones");
  const drawn = new Map(); // phone id -> {root, callsKey, threadKey, number, stick}
  const NEAR_BOTTOM = 24; // px: a thread scrolled this close to its end follows new texts
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
    // `stick`: the thread follows its newest message until the user scrolls up, and again
    // once they scroll back down to it.
    const d = {root: root, callsKey: "", threadKey: "", number: p.number, stick: true};
    const list = root.querySelector(".thread");
    list.addEventListener("scroll", () => {
      d.stick = list.scrollHeight - list.scrollTop - list.clientHeight <= NEAR_BOTTOM;
    });
    return d;
  }

  // Officer first, then whom the line tries, in step order, then the clinical director
  // (the last person any contact reaches), then the peers off call.
  function stepOf(p) {
    const m = /step (\d+)/.exec(p.on_call || "");
    return m ? Number(m[1]) : null;
  }

  function rank(p) {
    if (p.role === "officer") return [0, 0];
    const step = stepOf(p);
    if (step !== null) return [1, step];
    return p.role === "clinical_director" ? [2, 0] : [3, 0];
  }

  function place(d, index) {
    // Moving a node out of the page and back resets its scroll position: move only when
    // the order changed, and put the thread's position back.
    if (phonesEl.children[index] === d.root) return;
    const list = d.root.querySelector(".thread");
    const top = list.scrollTop;
    const stick = d.stick;
    phonesEl.insertBefore(d.root, phonesEl.children[index] || null);
    list.scrollTop = top;
    d.stick = stick;
  }

  function drawCalls(box, calls) {
    box.replaceChildren(...calls.map((c) => {
      const panel = el("div", {cls: "call-panel", "data-state": c.state, "data-call": c.call,
                               "data-leg": c.leg || ""}, [
        el("div", {cls: "call-title", text: c.title}),
        c.subtitle ? el("div", {cls: "call-subtitle", text: c.subtitle}) : null,
        c.coach ? el("div", {cls: "call-coach", text: c.coach}) : null,
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

  function drawThread(list, thread, program) {
    // Every text is with the program number, the only number anyone sees: say so on it.
    const party = {in: "From " + program, out: "To " + program};
    list.replaceChildren(...thread.map((m) => el("li", {cls: "msg " + m.kind}, [
      el("span", {cls: "bubble", text: m.text}),
      el("div", {cls: "meta"}, [
        party[m.kind] ? el("span", {cls: "from", text: party[m.kind]}) : null,
        el("time", {datetime: m.at, text: m.time}),
      ]),
    ])));
  }

  function draw(state) {
    document.getElementById("now").textContent = state.now;
    document.getElementById("ahead").textContent =
      state.ahead && state.ahead !== "0:00" ? "(" + state.ahead + " ahead of real time)" : "";
    const seen = new Set(state.phones.map((p) => p.id));
    for (const [id, d] of drawn) {
      if (!seen.has(id)) { d.root.remove(); drawn.delete(id); }
    }
    const order = state.phones.map((p, i) => [rank(p), i, p])
      .sort((a, b) => a[0][0] - b[0][0] || a[0][1] - b[0][1] || a[1] - b[1])
      .map((entry) => entry[2]);
    order.forEach((p, index) => {
      let d = drawn.get(p.id);
      if (!d || d.number !== p.number) {
        if (d) d.root.remove();
        d = phoneSkeleton(p);
        drawn.set(p.id, d);
      }
      place(d, index);
      const step = stepOf(p);
      const badge = d.root.querySelector(".oncall");
      badge.textContent = p.on_call ? "on call: " + p.on_call
        : (p.role === "officer" ? "" : "not on call now");
      badge.title = step === null ? "" : (step === 1
        ? "Tried first for every call and text"
        : "Tried at step " + step + ", if nobody at the steps before takes it");
      d.root.classList.toggle("on-call", step !== null);
      if (step === null) delete d.root.dataset.step; else d.root.dataset.step = String(step);
      d.root.classList.toggle("ringing", p.calls.some((c) => c.state === "ringing"));
      const callsKey = JSON.stringify(p.calls);
      if (callsKey !== d.callsKey) {
        d.callsKey = callsKey;
        drawCalls(d.root.querySelector(".calls"), p.calls);
      }
      const threadKey = JSON.stringify(p.thread);
      if (threadKey !== d.threadKey) {
        d.threadKey = threadKey;
        drawThread(d.root.querySelector(".thread"), p.thread, state.program.display);
      }
    });
    // Last, once texts and call panels have their sizes: threads that follow their newest
    // message scroll to it (a call panel taking room must not push it out of sight).
    for (const d of drawn.values()) {
      const list = d.root.querySelector(".thread");
      if (d.stick) list.scrollTop = list.scrollHeight;
    }
    body.dataset.ready = "1";
    body.dataset.draws = String(Number(body.dataset.draws || 0) + 1); // tests wait on it
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
