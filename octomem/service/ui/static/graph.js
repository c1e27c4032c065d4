// octomem inspector: the graph page's picture, drawn by the vendored cytoscape.min.js
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var box = document.getElementById("graph");
  var source = document.getElementById("graph-data");
  if (!box || !source || typeof cytoscape !== "function") { return; }
  var data = JSON.parse(source.textContent);
  if (!data.elements.length) { box.textContent = "No edge to draw."; return; }
  var cy = cytoscape({
    container: box,
    elements: data.elements,
    wheelSensitivity: 0.3,
    minZoom: 0.2,
    maxZoom: 1.5,  // a small graph is not blown up to fill the box
    // a few entities: rings by degree (the person in the middle); many: force-directed
    layout: data.elements.length <= 80
      ? { name: "concentric", animate: false, padding: 40, minNodeSpacing: 80,
          concentric: function (node) { return node.degree(); },
          levelWidth: function () { return 1; } }
      : { name: "cose", animate: false, padding: 40, nodeRepulsion: 12000,
          idealEdgeLength: 140 },
    style: [
      { selector: "node", style: { "label": "data(label)", "background-color": "#10243e",
        "color": "#1b1f24", "font-size": 12, "text-valign": "bottom", "text-margin-y": 4,
        "width": 18, "height": 18 } },
      { selector: "edge", style: { "label": "data(label)", "curve-style": "bezier",
        "target-arrow-shape": "triangle", "width": 2, "font-size": 10,
        "text-background-color": "#ffffff", "text-background-opacity": 1,
        "text-rotation": "autorotate" } },
      { selector: "edge.current", style: { "line-color": "#0b57d0", "target-arrow-color": "#0b57d0", "color": "#0b3a8a" } },
      { selector: "edge.invalid", style: { "line-color": "#b06000", "target-arrow-color": "#b06000",
        "line-style": "dashed", "color": "#6b4e00" } },
      { selector: ":selected", style: { "background-color": "#f9ab00", "line-color": "#f9ab00" } }
    ]
  });
  var user = box.getAttribute("data-user");
  cy.on("tap", "edge", function (event) {
    window.location.href = "/ui/users/" + user + "/memories/" + encodeURIComponent(event.target.data("memory"));
  });
  cy.on("tap", "node", function (event) {
    window.location.href = "/ui/users/" + user + "/graph?around=" + encodeURIComponent(event.target.data("label"));
  });
  box.setAttribute("data-ready", "true");
});
