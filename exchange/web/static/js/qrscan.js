// QR scanning from a camera with the vendored jsQR decoder (no BarcodeDetector on Chromium/Linux).
//
//   import { startQrScanner } from "/static/js/qrscan.js";
//   const scanner = await startQrScanner(videoEl, canvasEl, (text, result) => { ... }, {
//     fps: 8,                  // decode attempts per second
//     statusEl: el,            // optional: status / error text is written here (localised)
//     facingMode: "environment", // rear camera preferred, any camera otherwise
//   });
//   scanner.stop();            // releases the camera and stops decoding
//   scanner.reset();           // forget seen codes so the same code is reported again
//
// onCode(text, result) runs once per distinct code text. canvasEl may be null (an off-screen canvas is used).
// If the camera cannot be opened the promise rejects with a CameraError (see camera.js) whose .message is the
// localised reason, e.g. permission refused; statusEl, if given, shows it too.

import { CameraError, drawFrame, openCamera } from "./camera.js";
import { msg } from "./i18n.js";

const JSQR_URL = new URL("../vendor/jsqr/jsQR.js", import.meta.url).href;
let jsqrLoading = null;

/** Load the vendored jsQR (a UMD script defining window.jsQR) once; resolves to the jsQR function. */
export function loadJsQR() {
  if (typeof globalThis.jsQR === "function") return Promise.resolve(globalThis.jsQR);
  if (jsqrLoading === null) {
    jsqrLoading = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = JSQR_URL;
      script.async = true;
      script.onload = () =>
        typeof globalThis.jsQR === "function"
          ? resolve(globalThis.jsQR)
          : reject(new Error(msg("js.scanner.decoder_failed", {}, "QR decoder failed to load")));
      script.onerror = () => {
        jsqrLoading = null;
        reject(new Error(msg("js.scanner.decoder_failed", {}, "QR decoder failed to load")));
      };
      document.head.appendChild(script);
    });
  }
  return jsqrLoading;
}

function setStatus(el, text, kind) {
  if (!el) return;
  el.textContent = text;
  el.dataset.state = kind;
  el.classList.toggle("notice-error", kind === "error");
  el.classList.toggle("notice-ok", kind === "found");
}

/** Decode one frame of videoEl; returns the jsQR result or null. */
export function decodeFrame(jsQR, videoEl, canvas, maxWidth = 640) {
  if (videoEl.readyState < 2 || !videoEl.videoWidth) return null;
  const ctx = drawFrame(videoEl, canvas, maxWidth);
  const image = ctx.getImageData(0, 0, canvas.width, canvas.height);
  return jsQR(image.data, image.width, image.height, { inversionAttempts: "attemptBoth" });
}

export async function startQrScanner(
  videoEl,
  canvasEl,
  onCode,
  { fps = 8, statusEl = null, facingMode = "environment", maxWidth = 640 } = {},
) {
  setStatus(statusEl, msg("js.camera.starting", {}, "Opening the camera…"), "starting");
  let jsQR;
  let camera;
  try {
    [jsQR, camera] = await Promise.all([loadJsQR(), openCamera(videoEl, { facingMode })]);
  } catch (e) {
    setStatus(statusEl, e.message, "error");
    throw e;
  }
  setStatus(statusEl, msg("js.scanner.scanning", {}, "Scanning…"), "scanning");

  const canvas = canvasEl || document.createElement("canvas");
  const seen = new Set();
  const period = Math.max(20, Math.round(1000 / Math.max(0.1, fps)));
  let timer = null;
  let stopped = false;

  const tick = () => {
    if (stopped) return;
    const started = performance.now();
    try {
      const result = decodeFrame(jsQR, videoEl, canvas, maxWidth);
      if (result && result.data && !seen.has(result.data)) {
        seen.add(result.data);
        setStatus(statusEl, msg("js.scanner.found", {}, "QR code read"), "found");
        try {
          onCode(result.data, result);
        } catch (e) {
          console.error("onCode failed", e);
        }
      }
    } catch (e) {
      console.warn("QR decode failed for a frame", e);
    }
    const spent = performance.now() - started;
    timer = setTimeout(tick, Math.max(0, period - spent));
  };
  timer = setTimeout(tick, 0);

  return {
    stream: camera.stream,
    stop() {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
      camera.stop();
    },
    reset() {
      seen.clear();
      setStatus(statusEl, msg("js.scanner.scanning", {}, "Scanning…"), "scanning");
    },
  };
}

export { CameraError };
