/*
 * What the loader (widget.js) and the chat (chat.js) share: building DOM nodes without
 * innerHTML, so no text is ever read as markup. The server puts it in front of both
 * (bot/channels/widget/assets.py).
 */
function el(tag, attributes, children) {
  var node = document.createElement(tag);
  Object.keys(attributes || {}).forEach(function (name) {
    var value = attributes[name];
    if (value === false || value === null || value === undefined) return;
    if (name === "text") node.textContent = value;
    else if (name === "className") node.className = value;
    else node.setAttribute(name, value === true ? "" : value);
  });
  (children || []).forEach(function (child) {
    node.appendChild(child);
  });
  return node;
}
