/* A formula or an output too wide for the screen scrolls inside its own box; such a box must
 * be reachable by keyboard (a focusable region), and only such a box (formulas are not tab
 * stops otherwise). Re-checked when the window changes size. */
(function () {
  "use strict";
  const SELECTOR = 'mjx-container[display="true"], div.cell_output .output';
  function mark() {
    document.querySelectorAll(SELECTOR).forEach((box) => {
      const wide = box.scrollWidth > box.clientWidth + 1;
      if (wide && !box.hasAttribute("tabindex")) {
        box.setAttribute("tabindex", "0");
        box.setAttribute("data-scrolls", "");
        if (!box.getAttribute("aria-label") && box.tagName !== "MJX-CONTAINER") {
          box.setAttribute("role", "region");
          box.setAttribute("aria-label", "wide output, scrolls sideways");
        }
      } else if (!wide && box.hasAttribute("data-scrolls")) {
        box.removeAttribute("tabindex");
        box.removeAttribute("data-scrolls");
      }
    });
  }
  let pending = null;
  window.addEventListener("resize", () => { clearTimeout(pending); pending = setTimeout(mark, 150); });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mark);
  else mark();
})();
