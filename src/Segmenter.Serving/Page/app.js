// The page of `segmenter serve`: drop an image, see the overlay, the classes present and their pixel shares.
// It calls the server's own endpoints only (nothing from elsewhere), so it works offline.
"use strict";
(function () {
  const model = document.body.dataset.model;
  const base = "/v2/models/" + encodeURIComponent(model);
  const $ = (id) => document.getElementById(id);
  const drop = $("drop"), status = $("status");

  function headers() {
    const key = $("key").value;
    return key ? { Authorization: "Bearer " + key } : {};
  }

  function say(text, error) {
    status.textContent = text;
    status.className = error ? "error" : "";
  }

  async function errorOf(response) {
    try { return (await response.json()).error || response.statusText; } catch (e) { return response.statusText; }
  }

  async function describe() {
    const response = await fetch(base, { headers: headers() });
    if (response.status === 401) {
      $("key-field").hidden = false;
      $("summary").textContent = "This server needs an API key: enter it below.";
      return;
    }
    if (!response.ok) { $("summary").textContent = "Cannot describe the model: " + await errorOf(response); return; }
    const meta = await response.json();
    const p = meta.parameters || {};
    $("summary").textContent = `${p.model || meta.name} · ${p.classes} classes · ${meta.platform} · sliding window ${p.window}×${p.window}`;
  }

  async function segment(file) {
    if (!file) return;
    say(`Segmenting ${file.name} …`);
    const started = performance.now();
    const mode = $("mode").value;
    const response = await fetch(`${base}/segment?mode=${mode}&format=json`, {
      method: "POST",
      headers: Object.assign({ "Content-Type": file.type || "application/octet-stream" }, headers()),
      body: file,
    });
    if (response.status === 401) { $("key-field").hidden = false; say("This server needs an API key: enter it and drop the image again.", true); return; }
    if (!response.ok) { say(`${file.name}: ${await errorOf(response)}`, true); return; }
    const result = await response.json();
    show(file.name, result, performance.now() - started);
  }

  function show(name, result, ms) {
    const overlay = $("overlay");
    overlay.src = "data:image/png;base64," + result.overlay_png;
    $("labels-link").href = "data:image/png;base64," + result.labels_png;
    $("caption").textContent = `${name}: ${result.width}×${result.height}, ${result.mode} mode, ${Math.round(ms)} ms`;
    const legend = $("legend");
    legend.replaceChildren();
    for (const c of result.classes) {
      const item = document.createElement("li");
      item.dataset.class = c.name;
      item.dataset.share = c.share;
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = c.color;
      const label = document.createElement("span");
      label.className = "name";
      label.textContent = c.name;
      const share = document.createElement("span");
      share.className = "share";
      share.textContent = (100 * c.share).toFixed(1) + " %";
      const bar = document.createElement("span");
      bar.className = "bar";
      const fill = document.createElement("span");
      fill.style.width = (100 * c.share).toFixed(2) + "%";
      fill.style.background = c.color;
      bar.append(fill);
      item.append(swatch, label, share, bar);
      legend.append(item);
    }
    $("result").hidden = false;
    say(`${result.classes.length} classes in ${name}.`);
    document.body.dataset.state = "shown";
  }

  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    segment(e.dataTransfer.files[0]).catch((err) => say(String(err), true));
  });
  $("file").addEventListener("change", (e) => segment(e.target.files[0]).catch((err) => say(String(err), true)));
  $("key").addEventListener("change", () => describe().catch((err) => say(String(err), true)));
  describe().catch((err) => say(String(err), true));
})();
