/* sigrelay landing-page script: reports the page view, link clicks and document
   downloads of a visitor who came from a tracked e-mail link (?sr_vid=...).
   No dependencies, no cookies: the visit id lives in sessionStorage for this tab. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !window.URL) return;
  var endpoint = new URL(script.src).origin + "/t/e";
  var KEY = "sr_vid";
  var DOCS = /\.(pdf|docx?|xlsx?|pptx?|odt|ods|odp|zip|csv|txt|rtf)$/i;
  var vid = new URLSearchParams(location.search).get(KEY);
  try {
    if (vid) sessionStorage.setItem(KEY, vid);
    else vid = sessionStorage.getItem(KEY);
  } catch (e) { /* storage blocked: report this page only */ }
  if (!vid || !/^[A-Za-z0-9._-]{8,64}$/.test(vid)) return;

  function send(type, url) {
    var body = JSON.stringify({ vid: vid, type: type, url: url });
    if (navigator.sendBeacon && navigator.sendBeacon(endpoint, body)) return;
    try {
      fetch(endpoint, { method: "POST", body: body, mode: "cors", keepalive: true });
    } catch (e) { /* never break the page */ }
  }

  send("view", location.href);
  document.addEventListener("click", function (event) {
    var link = event.target && event.target.closest ? event.target.closest("a[href]") : null;
    if (!link) return;
    var url = new URL(link.href, location.href);
    if (url.protocol !== "http:" && url.protocol !== "https:") return;
    send(DOCS.test(url.pathname) || link.hasAttribute("download") ? "download" : "link", url.href);
  }, true);
})();
