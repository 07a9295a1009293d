// The playground's page: one WebSocket brings the acting person's view of the fake Slack after
// every change; the person's actions are POSTed to the page's server, which sends them to
// dockbell as Slack would (signed requests). Nothing here talks to dockbell directly.
"use strict";

const App = (() => {
  const $ = (id) => document.getElementById(id);
  const esc = Mrkdwn.esc;
  const state = {
    me: localStorage.getItem("playground.me") || "U_OSCAR",
    channel: localStorage.getItem("playground.channel") || "C_GENERAL",
    thread: null, // ts of the open thread's parent
    snap: null,
    notes: [], // Slack's own refusals, shown like Slackbot's "only visible to you"
    openFiles: {}, // file id -> its text, when shown inline
    ws: null,
  };

  // Inline icons: no font or network needed for the page's own chrome.
  const BELL = `<svg viewBox="0 0 24 24" width="60%" height="60%" aria-hidden="true"><path fill="#fff" d="M12 2a1.5 1.5 0 0 0-1.5 1.5v.7A6 6 0 0 0 6 10v4.2L4.3 17a.7.7 0 0 0 .6 1.1h14.2a.7.7 0 0 0 .6-1.1L18 14.2V10a6 6 0 0 0-4.5-5.8v-.7A1.5 1.5 0 0 0 12 2zm-2.2 17.3a2.3 2.3 0 0 0 4.4 0z"/></svg>`;
  const EYE = `<svg viewBox="0 0 20 20" width="14" height="14" aria-hidden="true"><path fill="currentColor" d="M10 4C5.5 4 2.3 7.4 1.2 9.6a.9.9 0 0 0 0 .8C2.3 12.6 5.5 16 10 16s7.7-3.4 8.8-5.6a.9.9 0 0 0 0-.8C17.7 7.4 14.5 4 10 4zm0 10a4 4 0 1 1 0-8 4 4 0 0 1 0 8zm0-6.2a2.2 2.2 0 1 0 0 4.4 2.2 2.2 0 0 0 0-4.4z"/></svg>`;
  const FILE = `<svg viewBox="0 0 24 24" width="36" height="36" aria-hidden="true"><rect x="2" y="2" width="20" height="20" rx="4" fill="#1264a3"/><path fill="#fff" d="M7 7h10v1.6H7zm0 4h10v1.6H7zm0 4h6v1.6H7z"/></svg>`;

  // --- helpers -----------------------------------------------------------------------------

  function person(id) {
    return state.snap ? state.snap.people.find((p) => p.id === id) : null;
  }

  function ctx() {
    const channels = {};
    if (state.snap) for (const c of state.snap.conversations) channels[c.id] = c.name;
    return { users: state.snap ? state.snap.users : {}, channels };
  }

  function initials(name) {
    return name.split(/\s+/).map((w) => w[0] || "").join("").slice(0, 2).toUpperCase();
  }

  function avatar(userId, size) {
    const cls = size ? `avatar avatar-${size}` : "avatar";
    if (userId === "U_BOT") return `<span class="${cls} avatar-bot" aria-hidden="true">${BELL}</span>`;
    if (userId === "USLACKBOT") return `<span class="${cls} avatar-slackbot" aria-hidden="true">S</span>`;
    const p = person(userId);
    const user = state.snap && state.snap.users[userId];
    const name = p ? p.real_name : user ? user.real_name : userId;
    const colour = p ? p.colour : "#616061";
    return `<span class="${cls}" style="background:${esc(colour)}" aria-hidden="true">${esc(initials(name))}</span>`;
  }

  function displayName(userId) {
    if (userId === "U_BOT") return "dockbell";
    if (userId === "USLACKBOT") return "Slackbot";
    const p = person(userId);
    if (p) return p.real_name;
    const user = state.snap && state.snap.users[userId];
    return user ? user.real_name : userId;
  }

  function time(ts) {
    const d = new Date(parseFloat(ts) * 1000);
    return d.toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
  }

  function size(n) {
    if (n < 1024) return `${n} B`;
    if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
    return `${(n / 1024 / 1024).toFixed(1)} MB`;
  }

  async function post(path, body) {
    try {
      const response = await fetch(path, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ as: state.me, ...body }),
      });
      const answer = await response.json().catch(() => ({ ok: false, error: `HTTP ${response.status}` }));
      return answer;
    } catch (err) {
      return { ok: false, error: "the playground is not answering (is it still running?)" };
    }
  }

  function note(channel, threadTs, text) {
    state.notes.push({ ts: `${Date.now() / 1000}`, channel, thread_ts: threadTs, text, note: true });
    render();
  }

  // --- rendering -------------------------------------------------------------------------

  function renderSwitcher() {
    const select = $("person");
    if (!select.options.length) {
      for (const p of state.snap.people) {
        const option = document.createElement("option");
        option.value = p.id;
        option.textContent = `${p.real_name} (${p.role})`;
        select.appendChild(option);
      }
    }
    select.value = state.me;
    $("me-avatar").outerHTML = avatar(state.me, "sm").replace('class="', 'id="me-avatar" class="');
  }

  function renderSidebar() {
    const items = (kind) =>
      state.snap.conversations
        .filter((c) => c.kind === kind)
        .map((c) => {
          const active = c.id === state.channel ? " active" : "";
          const label =
            kind === "dm"
              ? `${avatar("U_BOT", "sm")}<span>${esc(c.name)}</span><span class="app-badge">APP</span>`
              : `<span class="hash">#</span><span>${esc(c.name)}</span>`;
          return `<li><a href="#" class="nav-item${active}" data-channel="${esc(c.id)}">${label}</a></li>`;
        })
        .join("");
    $("channels").innerHTML = items("channel");
    $("dms").innerHTML = items("dm");
  }

  function conversation(id) {
    return state.snap.conversations.find((c) => c.id === id) || state.snap.conversations[0];
  }

  function titleOf(c) {
    return c.kind === "dm" ? c.name : `#${c.name}`;
  }

  function fileCard(file) {
    const shown = state.openFiles[file.id];
    const body = shown !== undefined ? `<pre class="pre file-content">${esc(shown)}</pre>` : "";
    return `<div class="file" data-file-id="${esc(file.id)}">
      <div class="file-row">
        <span class="file-icon">${FILE}</span>
        <span class="file-meta"><span class="file-name">${esc(file.title)}</span>
        <span class="file-size">${esc(size(file.size))} · Plain Text</span></span>
        <span class="file-actions">
          <button type="button" class="btn btn-small" data-view-file="${esc(file.id)}" data-url="${esc(file.url)}">${shown !== undefined ? "Hide" : "View"}</button>
          <a class="btn btn-small" href="${esc(file.url)}?download=1" download="${esc(file.name)}">Download</a>
        </span>
      </div>${body}</div>`;
  }

  // Slack folds a person's messages that follow each other within minutes under one name.
  const GROUP_SECONDS = 300;

  function continues(m, previous) {
    if (!previous || m.note || previous.note || m.ephemeral || previous.ephemeral) return false;
    if (m.user !== previous.user || previous.reply_count > 0) return false;
    return parseFloat(m.ts) - parseFloat(previous.ts) < GROUP_SECONDS;
  }

  function listHtml(messages, inThread) {
    return messages.map((m, i) => messageHtml(m, inThread, continues(m, messages[i - 1]))).join("");
  }

  function messageHtml(m, inThread, continued = false) {
    const c = ctx();
    const who = m.note ? "USLACKBOT" : m.user;
    const app = m.bot || m.note ? `<span class="app-badge">APP</span>` : "";
    const edited = m.edited ? ` <span class="edited">(edited)</span>` : "";
    // Slack puts "(edited)" at the end of the message's last text, not beside its buttons
    const body = m.note ? `<div class="b-text">${esc(m.text)}</div>` : Blocks.message(m, c, edited);
    const files = (m.files || []).map(fileCard).join("");
    let replies = "";
    if (!inThread && m.reply_count > 0) {
      const label = m.reply_count === 1 ? "1 reply" : `${m.reply_count} replies`;
      replies = `<a href="#" class="replies" data-thread="${esc(m.ts)}">${avatar("U_BOT", "xs")}<span>${label}</span><span class="replies-hint">View thread</span></a>`;
    }
    const ephemeral = m.ephemeral || m.note ? " ephemeral" : "";
    const only = m.ephemeral || m.note ? `<div class="only-you">${EYE} Only visible to you</div>` : "";
    const head = continued
      ? ""
      : `<div class="message-head"><span class="name">${esc(displayName(who))}</span>${app}<span class="time" title="${esc(m.ts)}">${esc(time(m.ts))}</span></div>`;
    const gutter = continued ? `<span class="gutter-time">${esc(time(m.ts))}</span>` : avatar(who);
    return `<div class="message${ephemeral}${continued ? " continued" : ""}" data-ts="${esc(m.ts)}">
      ${only}
      <div class="message-row">
        ${gutter}
        <div class="message-body">
          ${head}
          <div class="message-content">${body}</div>
          ${files}${replies}
        </div>
      </div>
    </div>`;
  }

  function keepScroll(el, html) {
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
    const previous = el.scrollTop;
    el.innerHTML = html;
    el.scrollTop = atBottom ? el.scrollHeight : previous;
  }

  function renderPane() {
    const c = conversation(state.channel);
    state.channel = c.id;
    $("pane-title").innerHTML = c.kind === "dm" ? `${avatar("U_BOT", "sm")} ${esc(c.name)}` : `# ${esc(c.name)}`;
    $("pane-topic").textContent =
      c.id === "C_ALERTS" ? "Crash notifications from the local engine" : c.kind === "dm" ? "Commands here are private" : "";
    const all = (state.snap.messages[c.id] || []).concat(state.notes.filter((n) => n.channel === c.id && !n.thread_ts));
    const top = all.filter((m) => !m.thread_ts).sort((a, b) => parseFloat(a.ts) - parseFloat(b.ts));
    const html = top.length
      ? listHtml(top, false)
      : `<div class="empty">This is the very beginning of <b>${esc(titleOf(c))}</b>. Try <code>/docker ps</code>.</div>`;
    keepScroll($("messages"), html);
    $("composer-input").placeholder = `Message ${titleOf(c)}`;
  }

  function renderThread() {
    const panel = $("thread");
    if (!state.thread) {
      panel.hidden = true;
      return;
    }
    const messages = state.snap.messages[state.channel] || [];
    const parent = messages.find((m) => m.ts === state.thread);
    if (!parent) {
      state.thread = null;
      panel.hidden = true;
      return;
    }
    panel.hidden = false;
    $("thread-where").textContent = titleOf(conversation(state.channel));
    const replies = messages
      .filter((m) => m.thread_ts === state.thread)
      .concat(state.notes.filter((n) => n.channel === state.channel && n.thread_ts === state.thread))
      .sort((a, b) => parseFloat(a.ts) - parseFloat(b.ts));
    const count = replies.filter((m) => !m.ephemeral && !m.note).length;
    const divider = `<div class="reply-count"><span>${count === 1 ? "1 reply" : `${count} replies`}</span></div>`;
    keepScroll($("thread-messages"), messageHtml(parent, true) + divider + listHtml(replies, true));
  }

  function renderModal() {
    const layer = $("modal-layer");
    const views = state.snap.views;
    if (!views.length) {
      layer.hidden = true;
      layer.innerHTML = "";
      layer.dataset.viewId = "";
      return;
    }
    const { id, view } = views[views.length - 1];
    if (layer.dataset.viewId === id) return; // keep what is typed
    layer.dataset.viewId = id;
    const c = ctx();
    const blocks = (view.blocks || []).map((b) => `<div class="block">${Blocks.block(b, c)}</div>`).join("");
    const submit = view.submit ? Blocks.textObject(view.submit, c) : "Submit";
    const close = view.close ? Blocks.textObject(view.close, c) : "Cancel";
    layer.innerHTML = `<div class="modal" role="dialog" aria-modal="true" data-view-id="${esc(id)}">
      <div class="modal-head"><span class="modal-title">${Blocks.textObject(view.title, c)}</span>
      <button type="button" class="icon-button" data-modal-close>✕</button></div>
      <form class="modal-body" id="modal-form">${blocks}<div class="modal-error" id="modal-error"></div></form>
      <div class="modal-foot"><button type="button" class="btn" data-modal-close>${close}</button>
      <button type="submit" form="modal-form" class="btn btn-primary">${submit}</button></div></div>`;
    layer.hidden = false;
    const first = layer.querySelector("input, textarea");
    if (first) first.focus();
  }

  function render() {
    if (!state.snap) return;
    renderSwitcher();
    renderSidebar();
    renderPane();
    renderThread();
    renderModal();
  }

  // --- live updates ------------------------------------------------------------------------

  function connect() {
    if (state.ws) state.ws.close();
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/ws?as=${encodeURIComponent(state.me)}`);
    state.ws = ws;
    ws.onopen = () => ($("connection").hidden = true);
    ws.onmessage = (event) => {
      const snap = JSON.parse(event.data);
      if (snap.me !== state.me) return; // a late push for the person we just left
      state.snap = snap;
      document.body.dataset.version = String(snap.version);
      render();
    };
    ws.onclose = () => {
      if (state.ws !== ws) return;
      $("connection").hidden = false;
      setTimeout(connect, 1000);
    };
  }

  // --- what the person does --------------------------------------------------------------

  async function send(input, threadTs) {
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    const answer = await post("/api/send", { channel: state.channel, text, thread_ts: threadTs });
    if (!answer.ok) note(state.channel, threadTs, answer.error);
  }

  async function click(button) {
    const message = button.closest(".message");
    if (!message || button.disabled) return;
    if (button.dataset.confirm) {
      const confirm = JSON.parse(button.dataset.confirm);
      const question = [confirm.title && confirm.title.text, confirm.text && confirm.text.text].filter(Boolean).join("\n\n");
      if (!window.confirm(question)) return;
    }
    button.disabled = true;
    const answer = await post("/api/click", { ts: message.dataset.ts, action_id: button.dataset.actionId });
    button.disabled = false;
    if (!answer.ok) note(state.channel, state.thread, answer.error);
  }

  async function toggleFile(button) {
    const id = button.dataset.viewFile;
    if (state.openFiles[id] !== undefined) {
      delete state.openFiles[id];
    } else {
      const response = await fetch(button.dataset.url);
      state.openFiles[id] = response.ok ? await response.text() : "(the file could not be read)";
    }
    render();
  }

  async function submitModal(event) {
    event.preventDefault();
    const layer = $("modal-layer");
    const values = {};
    for (const field of layer.querySelectorAll("[data-block]")) {
      values[field.dataset.block] = values[field.dataset.block] || {};
      values[field.dataset.block][field.dataset.action] = field.value;
    }
    const answer = await post("/api/submit", { view_id: layer.dataset.viewId, values });
    if (!answer.ok) $("modal-error").textContent = answer.error;
  }

  // A permalink's target: its channel, its thread when it is a reply, and a brief highlight.
  function jump(channel, ts) {
    const message = (state.snap.messages[channel] || []).find((m) => m.ts === ts);
    if (!message) return;
    state.channel = channel;
    state.thread = message.thread_ts || null;
    render();
    const shown = document.querySelector(`.message[data-ts="${CSS.escape(ts)}"]`);
    document.body.dataset.jumpedTo = ts; // what the last permalink showed (the browser test reads it)
    if (shown) {
      shown.scrollIntoView({ block: "center" });
      shown.classList.add("highlight");
      setTimeout(() => shown.classList.remove("highlight"), 1600);
    }
  }

  function bind() {
    $("person").addEventListener("change", (event) => {
      state.me = event.target.value;
      localStorage.setItem("playground.me", state.me);
      state.notes = [];
      state.snap = null;
      $("modal-layer").dataset.viewId = "";
      connect();
    });
    document.addEventListener("click", (event) => {
      const target = event.target.closest(
        "[data-channel], [data-thread], [data-action-id], [data-view-file], [data-modal-close], [data-permalink-ts], #thread-close"
      );
      if (!target) return;
      if (target.dataset.permalinkTs) {
        event.preventDefault();
        jump(target.dataset.permalinkChannel, target.dataset.permalinkTs);
      } else if (target.dataset.channel) {
        event.preventDefault();
        state.channel = target.dataset.channel;
        state.thread = null;
        localStorage.setItem("playground.channel", state.channel);
        render();
      } else if (target.dataset.thread) {
        event.preventDefault();
        state.thread = target.dataset.thread;
        render();
        $("thread-input").focus();
      } else if (target.dataset.actionId !== undefined) {
        click(target);
      } else if (target.dataset.viewFile) {
        toggleFile(target);
      } else if (target.hasAttribute("data-modal-close")) {
        post("/api/close", { view_id: $("modal-layer").dataset.viewId });
      } else if (target.id === "thread-close") {
        state.thread = null;
        render();
      }
    });
    $("composer").addEventListener("submit", (event) => {
      event.preventDefault();
      send($("composer-input"), null);
    });
    $("thread-composer").addEventListener("submit", (event) => {
      event.preventDefault();
      send($("thread-input"), state.thread);
    });
    $("modal-layer").addEventListener("submit", submitModal);
    document.addEventListener("keydown", (event) => {
      if (event.key !== "Escape") return;
      if (!$("modal-layer").hidden) {
        post("/api/close", { view_id: $("modal-layer").dataset.viewId });
      } else if (state.thread) {
        state.thread = null;
        render();
      }
    });
  }

  bind();
  connect();
  return { state };
})();
