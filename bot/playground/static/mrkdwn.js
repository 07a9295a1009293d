// Slack's mrkdwn to safe HTML: *bold*, _italic_, ~strike~, `code`, ```pre```, <url|text>,
// <@U..> as @name, <#C..|name> as #name, <!here>, :emoji: for the ones dockbell uses.
// Every character of the input is escaped before it reaches innerHTML; Slack's own escapes
// (&amp; &lt; &gt;) stay as they are, so they show as & < >.
"use strict";

const Mrkdwn = (() => {
  const EMOJI = {
    warning: "⚠️", white_check_mark: "✅", x: "❌", white_circle: "⚪", red_circle: "🔴",
    large_green_circle: "🟢", large_orange_circle: "🟠", no_entry: "⛔", no_entry_sign: "🚫",
    hourglass_flowing_sand: "⏳", hourglass: "⌛", zzz: "💤", rotating_light: "🚨", raised_hand: "✋",
    boom: "💥", arrows_counterclockwise: "🔄", alarm_clock: "⏰", satellite_antenna: "📡", repeat: "🔁",
    leftwards_arrow_with_hook: "↩️", back: "🔙", snooze: "😴", bell: "🔔", lock: "🔒", skull: "💀",
    information_source: "ℹ️", heavy_check_mark: "✔️", stop_button: "⏹️", mag: "🔍", package: "📦",
    whale: "🐳", fire: "🔥", eyes: "👀", wave: "👋", tada: "🎉", thinking_face: "🤔", memo: "📝",
    gear: "⚙️", link: "🔗", page_facing_up: "📄", clipboard: "📋", octagonal_sign: "🛑",
  };

  // Escape for HTML, keeping Slack's three entities (and numeric ones) as entities.
  function esc(s) {
    return s
      .replace(/&(?!(?:amp|lt|gt|quot|#\d+);)/g, "&amp;")
      .replace(/</g, "&lt;")
      .replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;")
      .replace(/'/g, "&#39;");
  }

  // Slack's entities back to characters (for hrefs and attributes, escaped again on output).
  function unescapeSlack(s) {
    return s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
  }

  function safeUrl(url) {
    const plain = unescapeSlack(url).trim();
    return /^(https?:|mailto:)/i.test(plain) ? plain : null;
  }

  function emoji(html) {
    return html.replace(/:([a-z0-9_+-]+):/g, (m, name) => (EMOJI[name] ? EMOJI[name] : m));
  }

  // Bold, italic and strike on already-escaped text, only at word boundaries as Slack does.
  function styles(html) {
    const edge = "(^|[\\s(\\[{\"'>.,;:!?-])";
    const end = "(?=$|[\\s)\\]}\"'<.,;:!?-])";
    return html
      .replace(new RegExp(edge + "\\*([^*\\s](?:[^*\\n]*[^*\\s])?)\\*" + end, "g"), "$1<b>$2</b>")
      .replace(new RegExp(edge + "_([^_\\s](?:[^_\\n]*[^_\\s])?)_" + end, "g"), "$1<i>$2</i>")
      .replace(new RegExp(edge + "~([^~\\s](?:[^~\\n]*[^~\\s])?)~" + end, "g"), "$1<s>$2</s>");
  }

  // <!date^epoch^format|fallback>: the format's tokens in the viewer's locale, as Slack does.
  function formatDate(target, fallback) {
    const [, epoch, format] = target.split("^");
    const when = new Date(Number(epoch) * 1000);
    if (!format || Number.isNaN(when.getTime())) return unescapeSlack(fallback);
    const today = new Date();
    const yesterday = new Date(today.getTime() - 86400000);
    const sameDay = (a, b) => a.toDateString() === b.toDateString();
    const pretty = (long) =>
      sameDay(when, today) ? "Today" : sameDay(when, yesterday) ? "Yesterday" : long;
    const short = when.toLocaleDateString([], { month: "short", day: "numeric", year: "numeric" });
    const long = when.toLocaleDateString([], { weekday: "long", month: "long", day: "numeric", year: "numeric" });
    const tokens = {
      date_num: when.toISOString().slice(0, 10),
      date: when.toLocaleDateString([], { month: "long", day: "numeric", year: "numeric" }),
      date_short: short,
      date_long: long,
      date_pretty: pretty(when.toLocaleDateString([], { month: "long", day: "numeric", year: "numeric" })),
      date_short_pretty: pretty(short),
      date_long_pretty: pretty(long),
      time: when.toLocaleTimeString([], { hour: "numeric", minute: "2-digit" }),
      time_secs: when.toLocaleTimeString([], { hour: "numeric", minute: "2-digit", second: "2-digit" }),
    };
    return format.replace(/\{(\w+)\}/g, (m, name) => (name in tokens ? tokens[name] : m));
  }

  function control(inner, ctx) {
    const bar = inner.indexOf("|");
    const target = bar >= 0 ? inner.slice(0, bar) : inner;
    const label = bar >= 0 ? inner.slice(bar + 1) : "";
    if (target.startsWith("@")) {
      const id = target.slice(1);
      const user = ctx.users && ctx.users[id];
      const name = user ? user.name : label || id;
      return `<span class="mention">@${esc(name)}</span>`;
    }
    if (target.startsWith("#")) {
      const id = target.slice(1);
      const name = (ctx.channels && ctx.channels[id]) || label || id;
      return `<span class="mention">#${esc(name)}</span>`;
    }
    if (target.startsWith("!date^")) {
      return `<span class="date">${esc(formatDate(target, label))}</span>`;
    }
    if (target.startsWith("!subteam^")) {
      return `<span class="mention">${esc(label || "@" + target.split("^")[1])}</span>`;
    }
    if (target.startsWith("!")) {
      const word = target.slice(1).split("^")[0];
      return `<span class="mention">@${esc(word)}</span>`;
    }
    const url = safeUrl(target);
    const text = esc(label || target);
    if (!url) return text;
    const permalink = /^https:\/\/fake\.slack\.com\/archives\/([A-Za-z0-9_]+)\/p(\d{7,})$/.exec(url);
    if (permalink) {
      // the fake's permalinks lead to the message on this page, as Slack's lead into Slack
      const ts = `${permalink[2].slice(0, -6)}.${permalink[2].slice(-6)}`;
      return `<a href="#" data-permalink-channel="${esc(permalink[1])}" data-permalink-ts="${esc(ts)}">${text}</a>`;
    }
    return `<a href="${esc(url)}" target="_blank" rel="noopener noreferrer">${text}</a>`;
  }

  function inline(s, ctx) {
    // `code` first: nothing inside it is formatted
    const out = [];
    const parts = s.split(/(`[^`\n]+`)/);
    for (const part of parts) {
      if (part.length > 2 && part.startsWith("`") && part.endsWith("`")) {
        out.push(`<code>${esc(part.slice(1, -1))}</code>`);
        continue;
      }
      let html = "";
      let last = 0;
      const re = /<([^<>\s][^<>]*)>/g;
      let m;
      while ((m = re.exec(part)) !== null) {
        html += emoji(styles(esc(part.slice(last, m.index))));
        html += control(m[1], ctx);
        last = re.lastIndex;
      }
      html += emoji(styles(esc(part.slice(last))));
      out.push(html);
    }
    return out.join("").replace(/\n/g, "<br>");
  }

  function render(text, ctx) {
    ctx = ctx || {};
    const parts = String(text || "").split("```");
    const out = [];
    parts.forEach((part, i) => {
      // an unclosed fence is shown as typed
      if (i % 2 === 1 && i < parts.length - 1) {
        out.push(`<pre class="pre">${esc(part.replace(/^\n/, "").replace(/\n$/, ""))}</pre>`);
      } else {
        out.push(inline(i % 2 === 1 ? "```" + part : part, ctx));
      }
    });
    return out.join("");
  }

  return { render, esc, emoji, safeUrl };
})();
