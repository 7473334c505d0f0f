// Starts Swagger UI on /api/docs/swagger. Kept out of the page so the page needs no inline script.
window.addEventListener("load", function () {
  "use strict";
  var node = document.getElementById("swagger-ui");
  var config = JSON.parse(node.dataset.config || "{}");
  config.url = node.dataset.specUrl;
  config.dom_id = "#swagger-ui";
  window.ui = SwaggerUIBundle(config);
});
