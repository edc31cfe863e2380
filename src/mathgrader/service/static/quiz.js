// Quiz pages: live preview of each answer (preview.js) and grading on submit.
// Learner text and server messages are inserted as text, never as HTML.
// A verdict belongs to the answer that was checked: once the learner changes the answer (even
// while the check is still running), the verdict is replaced by a note to submit again, so a
// "Correct" never stands next to an answer that was not checked.
"use strict";

(function () {
  const STALE_TEXT = "Your answer has changed since it was checked. Submit it to check it again.";

  const VERDICT_TEXT = {
    correct: "Correct",
    incorrect: "Not correct",
    invalid: "The grader could not read this answer",
    error: "This question could not be graded",
    timeout: "The check took too long; try a simpler form",
  };

  function showVerdict(box, result) {
    box.replaceChildren();
    box.className = "verdict verdict-" + result.verdict;
    const head = document.createElement("strong");
    // A request that ran out of time while the grader was busy says nothing about the answer.
    const busy = result.error && result.error.code === "request_timeout";
    head.textContent = busy ? "Not checked in time" : VERDICT_TEXT[result.verdict] || result.verdict;
    box.appendChild(head);
    if (result.score > 0 && result.score < 1) {
      box.appendChild(document.createTextNode(" (partial credit " +
        Math.round(result.score * 100) + "%)"));
    }
    if (result.feedback) {
      const p = document.createElement("p");
      p.textContent = result.feedback;
      box.appendChild(p);
    }
    if (result.error && result.error.hint) {
      const hint = document.createElement("p");
      hint.className = "hint";
      hint.textContent = "Hint: " + result.error.hint;
      box.appendChild(hint);
    }
  }

  // The verdict box no longer speaks for the text in the input.
  function markStale(box) {
    box.replaceChildren();
    box.className = "verdict verdict-stale";
    box.textContent = STALE_TEXT;
  }

  async function submit(form) {
    const input = form.querySelector("input[name=answer]");
    const box = form.querySelector(".verdict");
    const button = form.querySelector("button");
    const answer = input.value;
    button.disabled = true;
    box.className = "verdict";
    box.textContent = "Checking…";
    box.dataset.answer = answer;
    try {
      const response = await fetch("/api/v1/grade", {
        method: "POST",
        headers: {"Content-Type": "application/json"},
        body: JSON.stringify({question: form.dataset.question, answer: answer}),
      });
      if (!response.ok) {
        delete box.dataset.answer;
        box.textContent = response.status === 503
          ? "The grader is busy right now; please try again in a few seconds."
          : "The server could not grade this (" + response.status + ").";
        return;
      }
      const result = await response.json();
      if (input.value !== answer) {
        markStale(box);
        return;
      }
      showVerdict(box, result);
    } catch (err) {
      delete box.dataset.answer;
      box.textContent = "The grader could not be reached; try again.";
    } finally {
      button.disabled = false;
    }
  }

  document.querySelectorAll("form.answer-form").forEach(function (form) {
    const input = form.querySelector("input[name=answer]");
    const preview = form.querySelector(".preview");
    if (window.attachPreview) {
      window.attachPreview(input, preview, {allowList: form.dataset.list === "true"});
    }
    input.addEventListener("input", function () {
      const box = form.querySelector(".verdict");
      if ("answer" in box.dataset && input.value !== box.dataset.answer &&
          !box.classList.contains("verdict-stale")) {
        markStale(box);
      }
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      submit(form);
    });
  });
})();
