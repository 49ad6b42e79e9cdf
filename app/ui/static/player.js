// The clip player (app/ui/player.py), a Streamlit v2 component: mounted in the page itself (no iframe), so a
// rerun with new data redraws the time line and never reloads the video. Streamlit calls this function on mount
// and again whenever the data changes, with the same root; the first call builds the controls.
//
// The time line shows the attributions of data.timeline or, newer, what a feed sent for this player and video
// (window.__easternTimelines[key], announced by an "eastern-timeline" event; app/ui/player.py `timeline_feed`):
// Video detail's "Why this venue?" is a fragment that reruns alone, and its feed updates the player above it.
// User text (caption words, venue names) is only ever written with textContent.

const STORE = "__easternTimelines";

function heat(v) {  // -1..1 -> blue..white..red, as the frame strip
  v = Math.max(-1, Math.min(1, v));
  if (v >= 0) return `rgb(255,${Math.round(255 * (1 - v * 0.85))},${Math.round(255 * (1 - v * 0.85))})`;
  return `rgb(${Math.round(255 * (1 + v * 0.85))},${Math.round(255 * (1 + v * 0.6))},255)`;
}

function scaleOf(values) { return Math.max(1e-12, ...values.map(Math.abs)); }

function drawRow(el, span, values, seconds, label) {
  el.replaceChildren();
  const n = Math.round(span / seconds);
  const scale = values ? scaleOf(values) : 1;
  for (let i = 0; i < n; i++) {
    const cell = document.createElement("div");
    cell.className = "cell";
    cell.style.left = (100 * i * seconds / span) + "%";
    cell.style.width = (100 * seconds / span) + "%";
    const t0 = (i * seconds).toFixed(1), t1 = ((i + 1) * seconds).toFixed(1);
    if (values) {
      cell.style.background = heat(values[i] / scale);
      cell.title = `${label} ${t0}-${t1} s: ${values[i] >= 0 ? "+" : ""}${values[i].toFixed(3)}`;
    } else {
      cell.title = `${label} ${t0}-${t1} s`;
    }
    el.appendChild(cell);
  }
}

function drawWords(el, words) {
  el.replaceChildren();
  if (!words || !words.length) return;
  const scale = scaleOf(words.filter(w => w[1] !== null).map(w => w[1]).concat([0]));
  const head = document.createElement("b");
  head.textContent = "caption: ";
  el.appendChild(head);
  for (const [word, weight] of words) {
    const span = document.createElement("span");
    span.textContent = word;  // user text: always text, never HTML
    if (weight === null) span.className = "unread";
    else { span.style.background = heat(weight / scale); span.title = (weight >= 0 ? "+" : "") + weight.toFixed(3); }
    el.appendChild(span);
  }
}

function timelineOf(state) {
  const fed = (window[STORE] || {})[state.data.key];
  if (fed && state.data.video !== null && fed.video === state.data.video && fed.timeline) return fed.timeline;
  return state.data.timeline || {};
}

function redraw(state) {
  const timeline = timelineOf(state), span = state.data.span, $ = state.$;
  drawRow($(".cells#frames"), span, timeline.frames || null, 0.5, "frame");
  drawRow($(".cells#clips"), span, timeline.clips || null, 1.0, "clip");
  drawWords($(".words"), timeline.words || null);
  $(".hint").textContent = timeline.hint || state.data.hint || "";
}

function build(root, data) {
  const $ = (selector) => root.querySelector(selector);
  const state = { data, $, src: null };
  const box = $(".player"), video = $("video");
  state.video = video;
  box.style.setProperty("--video-h", data.video_height + "px");
  video.loop = !!data.loop;
  const axis = $(".axis");
  for (let s = 0; s <= data.span; s++) {
    const tick = document.createElement("span");
    tick.style.left = (100 * s / data.span) + "%";
    tick.textContent = s + " s";
    axis.appendChild(tick);
  }

  // ---- controls
  const play = $(".play");
  play.onclick = () => (video.paused ? video.play() : video.pause());
  video.addEventListener("play", () => (play.textContent = "❚❚ pause"));
  video.addEventListener("pause", () => (play.textContent = "▶ play"));
  const fps = () => state.data.fps, span = () => state.data.span;
  const step = (dt) => { video.pause(); video.currentTime = Math.max(0, Math.min(video.duration || span(), video.currentTime + dt)); };
  $(".back-frame").onclick = () => step(-1 / fps());
  $(".next-frame").onclick = () => step(1 / fps());
  $(".back-half").onclick = () => step(-0.5);
  $(".next-half").onclick = () => step(0.5);
  const speedButtons = [];
  const showSpeed = () => speedButtons.forEach(b => b.classList.toggle("on", Number(b.dataset.rate) === video.playbackRate));
  for (const rate of data.speeds) {
    const b = document.createElement("button");
    b.textContent = rate + "×";
    b.dataset.rate = String(rate);
    b.title = "playback speed " + rate + "×";
    b.onclick = () => { video.playbackRate = rate; showSpeed(); };
    $(".speeds").appendChild(b);
    speedButtons.push(b);
  }
  video.addEventListener("ratechange", showSpeed);
  video.addEventListener("loadedmetadata", () => { video.playbackRate = video.playbackRate || 1; showSpeed(); });
  showSpeed();
  const loop = $(".loop");
  const showLoop = () => loop.classList.toggle("on", video.loop);
  loop.onclick = () => { video.loop = !video.loop; showLoop(); };
  showLoop();
  const mute = $(".mute");
  const showMute = () => { mute.textContent = video.muted ? "muted" : "sound on"; mute.classList.toggle("on", !video.muted); };
  mute.onclick = () => { video.muted = !video.muted; showMute(); };
  showMute();

  // ---- the time line: click seeks, playing moves the cursor
  const timeline = $(".timeline"), cells = $(".cells#frames"), cursor = $(".cursor"), timeText = $(".time");
  const toTime = (clientX) => {
    const r = cells.getBoundingClientRect();
    return Math.max(0, Math.min(span(), (clientX - r.left) / r.width * span()));
  };
  timeline.addEventListener("click", (e) => { video.currentTime = toTime(e.clientX); });
  const draw = () => {
    const r = cells.getBoundingClientRect(), base = timeline.getBoundingClientRect();
    const t = Math.min(video.currentTime || 0, span());
    cursor.style.left = (r.left - base.left + r.width * t / span() - 1) + "px";
    timeText.textContent = `${(video.currentTime || 0).toFixed(2)} / ${(video.duration || span()).toFixed(2)} s`;
  };
  const tick = () => { draw(); if (!video.paused) requestAnimationFrame(tick); };
  video.addEventListener("play", () => requestAnimationFrame(tick));
  ["timeupdate", "seeked", "loadedmetadata"].forEach(ev => video.addEventListener(ev, draw));
  const onResize = () => draw();
  window.addEventListener("resize", onResize);
  draw();

  // ---- keys, while the player has the focus: its own; the rest go on to the page (Annotate's 1/2/3, Enter, S, U)
  const own = { " ": () => play.click(), ",": () => step(-1 / fps()), ".": () => step(1 / fps()),
                "l": () => loop.click(), "m": () => mute.click() };
  box.addEventListener("keydown", (e) => {
    if (own[e.key] && !e.ctrlKey && !e.metaKey && !e.altKey) { e.preventDefault(); e.stopPropagation(); own[e.key](); }
  });
  video.addEventListener("click", () => box.focus({ preventScroll: true }));

  // ---- a feed's time line for this player
  const onFeed = (e) => { if (e.detail === state.data.key) redraw(state); };
  window.addEventListener("eastern-timeline", onFeed);
  state.stop = () => { window.removeEventListener("resize", onResize); window.removeEventListener("eastern-timeline", onFeed); };
  return state;
}

export default function (component) {
  const { data, parentElement } = component;
  const root = parentElement;
  let state = root.__easternPlayer;
  if (!state) state = root.__easternPlayer = build(root, data);
  state.data = data;
  if (state.src !== data.src) {  // a new clip (or its browser copy): the only change that reloads the video
    state.src = data.src;
    if (data.src) state.video.src = data.src; else state.video.removeAttribute("src");
  }
  redraw(state);
  return () => { state.stop(); delete root.__easternPlayer; };
}
