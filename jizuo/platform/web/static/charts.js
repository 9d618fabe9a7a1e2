// Draws the charts of a page with the Vega bundle served by the platform.
//
// A chart is <div class="chart" data-vega-spec="{…Vega-Lite spec…}">, or an element with an
// empty data-vega-spec and the spec in a <script type="application/json"> inside it. Pages
// include templates/charts/_scripts.html, which loads the bundle before this module runs.
// Vega's expressions run through its interpreter, as the Content Security Policy forbids eval.

function specOf(element) {
  const inline = element.getAttribute("data-vega-spec");
  if (inline) return JSON.parse(inline);
  const holder = element.querySelector('script[type="application/json"]');
  return holder ? JSON.parse(holder.textContent) : null;
}

async function draw(element) {
  const spec = specOf(element);
  if (!spec) return;
  const result = await window.vegaEmbed(element, spec, {
    actions: false,
    renderer: "svg",
    ast: true, // Vega's interpreter instead of compiled expressions
    defaultStyle: false,
    tooltip: false,
  });
  element.dataset.vegaRendered = "true";
  return result;
}

function drawAll() {
  for (const element of document.querySelectorAll("[data-vega-spec]")) {
    draw(element).catch((problem) => {
      element.dataset.vegaRendered = "failed";
      element.textContent = String(problem);
      console.error("chart", problem);
    });
  }
}

if (window.vegaEmbed) drawAll();
else window.addEventListener("load", drawAll, { once: true });
