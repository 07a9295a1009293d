// Block Kit to HTML, for the blocks dockbell sends: header, section (text, fields, accessory),
// context, divider, actions (buttons), rich_text (sections, preformatted, lists, quotes),
// image, and input (in modals). Unknown blocks show as a grey note rather than disappear.
"use strict";

const Blocks = (() => {
  const esc = Mrkdwn.esc;

  function textObject(obj, ctx) {
    if (!obj) return "";
    if (obj.type === "mrkdwn") return Mrkdwn.render(obj.text, ctx);
    // plain_text: escaped, emoji only when asked (Slack's default is true)
    const html = esc(obj.text || "").replace(/\n/g, "<br>");
    return obj.emoji === false ? html : Mrkdwn.emoji(html);
  }

  function button(el, ctx) {
    const style = el.style === "primary" || el.style === "danger" ? ` btn-${el.style}` : "";
    const label = textObject(el.text, ctx);
    if (el.url && Mrkdwn.safeUrl(el.url)) {
      return `<a class="btn${style}" href="${esc(Mrkdwn.safeUrl(el.url))}" target="_blank" rel="noopener">${label}</a>`;
    }
    const confirm = el.confirm ? ` data-confirm="${esc(JSON.stringify(el.confirm))}"` : "";
    return `<button class="btn${style}" type="button" data-action-id="${esc(el.action_id || "")}"${confirm}>${label}</button>`;
  }

  function element(el, ctx) {
    if (!el) return "";
    switch (el.type) {
      case "button":
        return button(el, ctx);
      case "image":
        return `<span class="img-alt" title="${esc(el.alt_text || "")}">🖼</span>`;
      case "mrkdwn":
      case "plain_text":
        return textObject(el, ctx);
      default:
        return `<span class="unknown">[${esc(el.type || "element")}]</span>`;
    }
  }

  function richElements(elements, ctx) {
    return (elements || [])
      .map((el) => {
        switch (el.type) {
          case "text": {
            let html = esc(el.text || "").replace(/\n/g, "<br>");
            const s = el.style || {};
            if (s.code) html = `<code>${html}</code>`;
            if (s.bold) html = `<b>${html}</b>`;
            if (s.italic) html = `<i>${html}</i>`;
            if (s.strike) html = `<s>${html}</s>`;
            return html;
          }
          case "link": {
            const url = Mrkdwn.safeUrl(el.url || "");
            const text = esc(el.text || el.url || "");
            return url ? `<a href="${esc(url)}" target="_blank" rel="noopener">${text}</a>` : text;
          }
          case "user": {
            const user = ctx.users && ctx.users[el.user_id];
            return `<span class="mention">@${esc(user ? user.name : el.user_id)}</span>`;
          }
          case "channel": {
            const name = (ctx.channels && ctx.channels[el.channel_id]) || el.channel_id;
            return `<span class="mention">#${esc(name)}</span>`;
          }
          case "emoji":
            return Mrkdwn.emoji(`:${esc(el.name || "")}:`);
          case "broadcast":
            return `<span class="mention">@${esc(el.range || "here")}</span>`;
          default:
            return "";
        }
      })
      .join("");
  }

  function richText(block, ctx) {
    return (block.elements || [])
      .map((part) => {
        switch (part.type) {
          case "rich_text_section":
            return `<div class="rt-section">${richElements(part.elements, ctx)}</div>`;
          case "rich_text_preformatted":
            return `<pre class="pre">${richElements(part.elements, ctx)}</pre>`;
          case "rich_text_quote":
            return `<blockquote>${richElements(part.elements, ctx)}</blockquote>`;
          case "rich_text_list": {
            const tag = part.style === "ordered" ? "ol" : "ul";
            const items = (part.elements || []).map((s) => `<li>${richElements(s.elements, ctx)}</li>`).join("");
            return `<${tag}>${items}</${tag}>`;
          }
          default:
            return "";
        }
      })
      .join("");
  }

  // suffix: HTML put at the end of the block's text ("(edited)" goes there, as in Slack)
  function block(b, ctx, suffix = "") {
    switch (b.type) {
      case "header":
        return `<div class="b-header">${textObject(b.text, ctx)}${suffix}</div>`;
      case "section": {
        const inText = b.text && !b.fields ? suffix : "";
        const text = b.text ? `<div class="b-text">${textObject(b.text, ctx)}${inText}</div>` : "";
        const fields = b.fields
          ? `<div class="b-fields">${b.fields.map((f) => `<div class="b-field">${textObject(f, ctx)}</div>`).join("")}</div>`
          : "";
        const accessory = b.accessory ? `<div class="b-accessory">${element(b.accessory, ctx)}</div>` : "";
        const after = inText ? "" : suffix;
        return `<div class="b-section"><div class="b-main">${text}${fields}${after}</div>${accessory}</div>`;
      }
      case "context":
        return `<div class="b-context">${(b.elements || []).map((e) => `<span>${element(e, ctx)}</span>`).join("")}${suffix ? `<span>${suffix}</span>` : ""}</div>`;
      case "divider":
        return `<hr class="b-divider">`;
      case "actions":
        return `<div class="b-actions">${(b.elements || []).map((e) => element(e, ctx)).join("")}</div>`;
      case "rich_text":
        return `<div class="b-rich">${richText(b, ctx)}${suffix}</div>`;
      case "image":
        return `<div class="b-context">🖼 ${esc(b.alt_text || "image")}</div>`;
      case "input": {
        const el = b.element || {};
        const id = `in-${esc(b.block_id || "")}-${esc(el.action_id || "")}`;
        const field = el.multiline
          ? `<textarea id="${id}" data-block="${esc(b.block_id || "")}" data-action="${esc(el.action_id || "")}" rows="3"></textarea>`
          : `<input id="${id}" type="text" data-block="${esc(b.block_id || "")}" data-action="${esc(el.action_id || "")}">`;
        const hint = b.hint ? `<div class="b-hint">${textObject(b.hint, ctx)}</div>` : "";
        const optional = b.optional ? ` <span class="optional">(optional)</span>` : "";
        return `<div class="b-input"><label for="${id}">${textObject(b.label, ctx)}${optional}</label>${field}${hint}</div>`;
      }
      default:
        return `<div class="unknown">[${esc(b.type || "block")} block]</div>`;
    }
  }

  const TEXT_BLOCKS = ["header", "section", "context", "rich_text"];

  // Slack shows a message's blocks when it has some, else its text; ``suffix`` ends its last text.
  function message(msg, ctx, suffix = "") {
    if (Array.isArray(msg.blocks) && msg.blocks.length) {
      let last = -1;
      msg.blocks.forEach((b, i) => {
        if (TEXT_BLOCKS.includes(b.type)) last = i;
      });
      return msg.blocks
        .map((b, i) => `<div class="block" data-block-id="${esc(b.block_id || "")}">${block(b, ctx, i === last ? suffix : "")}</div>`)
        .join("");
    }
    return `<div class="b-text">${Mrkdwn.render(msg.text, ctx)}${suffix}</div>`;
  }

  return { message, block, textObject };
})();
