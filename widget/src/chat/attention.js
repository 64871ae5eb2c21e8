// @ts-check
/**
 * A new reply while the store's tab is hidden: the tab's title alternates with "New message
 * from Alice" until the shopper looks, and, if the store turned sound on (`data-sound="on"` on
 * the script tag; off by default), a short two-tone chime plays (Web Audio: no file to load).
 */

/** @typedef {import("../types").Host} Host */

/** @type {ReturnType<typeof setInterval> | undefined} */
let timer;
let pageTitle = "";
let ours = "";

/**
 * @param {Host} host
 * @param {string} line what the title says, e.g. "New message from Alice"
 */
export function attention(host, line) {
  if (document.visibilityState !== "hidden") return;
  if (host.opts.sound) chime();
  if (timer === undefined) {
    pageTitle = document.title;
    document.addEventListener("visibilitychange", stop);
  }
  clearInterval(timer);
  ours = line;
  let on = false;
  const swap = () => {
    on = !on;
    document.title = on ? ours : pageTitle;
  };
  swap();
  timer = setInterval(swap, 1200);
}

function stop() {
  if (document.visibilityState === "hidden") return;
  clearInterval(timer);
  timer = undefined;
  document.removeEventListener("visibilitychange", stop);
  if (document.title === ours) document.title = pageTitle;
}

/** @type {AudioContext | null} */
let audio = null;

function chime() {
  try {
    audio = audio || new AudioContext();
    const now = audio.currentTime;
    [660, 990].forEach((frequency, i) => {
      const ctx = /** @type {AudioContext} */ (audio);
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.frequency.value = frequency;
      gain.gain.setValueAtTime(0.12, now + i * 0.16);
      gain.gain.exponentialRampToValueAtTime(0.001, now + i * 0.16 + 0.15);
      osc.connect(gain).connect(ctx.destination);
      osc.start(now + i * 0.16);
      osc.stop(now + i * 0.16 + 0.16);
    });
  } catch (e) {
    // no audio (policy, old browser): the title still says it
  }
}
