// @ts-check
/** Getting the agent's attention: a sound, a count in the page title, a desktop notification. */
import { t } from "./dom.js";

const baseTitle = document.title;
/** @type {AudioContext | null} */
let audio = null;

/** Browsers allow sound only after a user gesture: prepare it on the first one. */
export function prepareSound() {
  const unlock = () => {
    audio = audio || new AudioContext();
    void audio.resume();
  };
  document.addEventListener("pointerdown", unlock, { once: true });
  document.addEventListener("keydown", unlock, { once: true });
}

/** Two short tones. */
export function chime() {
  if (!audio || audio.state !== "running") return;
  const now = audio.currentTime;
  [880, 1320].forEach((frequency, i) => {
    if (!audio) return;
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = frequency;
    gain.gain.setValueAtTime(0.15, now + i * 0.18);
    gain.gain.exponentialRampToValueAtTime(0.001, now + i * 0.18 + 0.16);
    osc.connect(gain).connect(audio.destination);
    osc.start(now + i * 0.18);
    osc.stop(now + i * 0.18 + 0.17);
  });
  document.body.dataset.chimes = String(Number(document.body.dataset.chimes || 0) + 1);
}

/**
 * The page title with the number of chats that need a look.
 * @param {number} count
 */
export function badge(count) {
  document.title = count > 0 ? `(${count}) ${baseTitle}` : baseTitle;
}

/**
 * A desktop notification, when the agent allowed them and is looking elsewhere.
 * @param {string} body
 * @param {() => void} onClick
 */
export function desktop(body, onClick) {
  if (!("Notification" in window) || Notification.permission !== "granted") return;
  if (document.visibilityState === "visible" && document.hasFocus()) return;
  const note = new Notification(t("new_chat_title"), { body, tag: "chat-new" });
  note.onclick = () => {
    window.focus();
    onClick();
    note.close();
  };
}

/** @returns {boolean} whether asking for permission makes sense */
export function canAsk() {
  return "Notification" in window && Notification.permission === "default";
}

export async function ask() {
  if (canAsk()) await Notification.requestPermission();
}
