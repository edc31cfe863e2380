// Live preview of a math input: what the grader reads, drawn as the learner types.
//
//   attachPreview(input, output, {allowList: false, delay: 250, endpoint: "/api/v1/preview"})
//
// posts the input's text to /api/v1/preview (debounced) and shows the returned MathML, or the
// error message, the hint and the offending part of the text. Learner text and server
// messages are always inserted as text; the MathML is server-generated and is still parsed
// off-document and stripped to MathML elements without event handlers or links first.
// Inputs with data-preview-output="<id of output element>" are attached on load, and buttons
// with data-fill="<id of input>" put their value into that input (examples on help pages).
"use strict";

(function () {
  const MATHML_NS = "http://www.w3.org/1998/Math/MathML";
  const UNAVAILABLE = "The preview is not available right now.";

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  // Parse the server's <math> off-document and keep only inert MathML.
  function safeMath(markup) {
    if (typeof markup !== "string" || !markup) return null;
    const doc = new DOMParser().parseFromString(markup, "text/html");
    const math = doc.body.firstElementChild;
    if (!math || math.namespaceURI !== MATHML_NS || math.localName !== "math") return null;
    for (const node of Array.from(math.querySelectorAll("*"))) {
      if (node.namespaceURI !== MATHML_NS) {
        node.remove();
        continue;
      }
      for (const attr of Array.from(node.attributes)) {
        const name = attr.name.toLowerCase();
        if (name.startsWith("on") || name.includes("href") || name === "src" ||
            name === "style") {
          node.removeAttribute(attr.name);
        }
      }
    }
    return document.importNode(math, true);
  }

  function showOk(output, data) {
    const math = safeMath(data.mathml);
    if (math) {
      const box = el("div", "preview-math");
      box.appendChild(math);
      output.appendChild(box);
    }
    if (data.text) {
      const reading = el("p", "preview-reading", "The grader reads: ");
      reading.appendChild(el("code", null, data.text));
      output.appendChild(reading);
    }
    if (Array.isArray(data.variables) && data.variables.length) {
      output.appendChild(el("p", "preview-variables muted",
        "Variables: " + data.variables.join(", ")));
    }
    if (Array.isArray(data.warnings) && data.warnings.length) {
      const list = el("ul", "preview-warnings");
      data.warnings.forEach(function (warning) { list.appendChild(el("li", null, warning)); });
      output.appendChild(list);
    }
  }

  // The learner's text with the error's columns (1-based, end exclusive) marked. Columns count
  // code points, as the server does (not UTF-16 units: "😀" or "𝑥" is one column). A long text
  // is cut to a window around the mistake, and a long marked part to its start, so that a
  // pasted essay does not fill the page.
  const CONTEXT = 24;
  const MARK_MAX = 24;

  function markedText(text, error) {
    const chars = Array.from(text);
    const start = Number(error.column) - 1;
    const end = Math.max(Number(error.end_column || error.column) - 1, start + 1);
    if (!Number.isInteger(start) || start < 0 || start > chars.length) return null;
    const markEnd = Math.min(end, chars.length, start + MARK_MAX);
    const afterStart = Math.min(end, chars.length);
    const from = Math.max(0, start - CONTEXT);
    const to = Math.min(chars.length, afterStart + CONTEXT);
    let marked = chars.slice(start, markEnd).join("") || "\u2003";
    if (markEnd < afterStart) marked += "\u2026";
    const code = el("code", "preview-source");
    code.appendChild(document.createTextNode(
      (from > 0 ? "\u2026" : "") + chars.slice(from, start).join("")));
    code.appendChild(el("mark", null, marked));
    code.appendChild(document.createTextNode(
      chars.slice(afterStart, to).join("") + (to < chars.length ? "\u2026" : "")));
    return code;
  }

  function showError(output, error, text) {
    error = error || {};
    output.appendChild(el("p", "preview-error", error.message || "This cannot be read."));
    const marked = markedText(text, error);
    if (marked) output.appendChild(marked);
    if (error.hint) output.appendChild(el("p", "hint", "Hint: " + error.hint));
  }

  function attachPreview(input, output, options) {
    const opts = Object.assign(
      {endpoint: "/api/v1/preview", delay: 250, allowList: false}, options || {});
    let timer = null;
    let controller = null;
    let latest = 0;

    function show(state, fill) {
      output.replaceChildren();
      output.dataset.state = state;
      if (fill) fill();
    }

    async function refresh() {
      const text = input.value;
      const mine = ++latest;
      if (controller) controller.abort();
      if (!text.trim()) {
        show("empty");
        return;
      }
      controller = new AbortController();
      try {
        const response = await fetch(opts.endpoint, {
          method: "POST",
          headers: {"Content-Type": "application/json"},
          body: JSON.stringify({expression: text, list: Boolean(opts.allowList)}),
          signal: controller.signal,
        });
        if (mine !== latest) return;
        if (!response.ok) {
          const tooLong = response.status === 413 || response.status === 422;
          show("unavailable", function () {
            output.appendChild(el("p", "preview-error",
              tooLong ? "This is too long to preview." : UNAVAILABLE));
          });
          return;
        }
        const data = await response.json();
        if (mine !== latest) return;
        if (data.ok) {
          show("ok", function () { showOk(output, data); });
        } else {
          show("error", function () { showError(output, data.error, text); });
        }
      } catch (err) {
        if (err && err.name === "AbortError") return;
        if (mine === latest) {
          show("unavailable", function () {
            output.appendChild(el("p", "preview-error", UNAVAILABLE));
          });
        }
      }
    }

    function schedule() {
      clearTimeout(timer);
      timer = setTimeout(refresh, opts.delay);
    }

    input.addEventListener("input", schedule);
    if (input.value) schedule();
    return {refresh: refresh};
  }

  function attachAll(root) {
    root.querySelectorAll("input[data-preview-output]").forEach(function (input) {
      const output = document.getElementById(input.dataset.previewOutput);
      if (output && !input.dataset.previewAttached) {
        input.dataset.previewAttached = "true";
        attachPreview(input, output);
      }
    });
    root.querySelectorAll("button[data-fill]").forEach(function (button) {
      button.addEventListener("click", function () {
        const input = document.getElementById(button.dataset.fill);
        if (!input) return;
        input.value = button.value;
        input.dispatchEvent(new Event("input", {bubbles: true}));
        input.focus();
        input.scrollIntoView({block: "center", behavior: "smooth"});
      });
    });
  }

  window.attachPreview = attachPreview;
  window.mathgrader = Object.assign(window.mathgrader || {}, {attachPreview: attachPreview});

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { attachAll(document); });
  } else {
    attachAll(document);
  }
})();
