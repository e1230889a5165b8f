// Camera access for face login and QR scanning.
//
//   import { openCamera, captureFrames, CameraError } from "/static/js/camera.js";
//   const cam = await openCamera(videoEl, { facingMode: "user" });   // preview starts playing in videoEl
//   const blobs = await captureFrames(videoEl, { count: 5, intervalMs: 200, maxWidth: 640 }); // JPEG Blob[]
//   // onFrame(i) runs after frame i is taken (e.g. to ask for the head turn once the frontal frames are in)
//   cam.stop();                                                       // releases the camera
//
// The preview may be mirrored with CSS (class "mirror") so it feels like a mirror; captured frames are drawn
// from the video element's raw pixels and are therefore NOT mirrored.
// Failures reject with CameraError: .code is one of "denied" | "not_found" | "in_use" | "insecure" |
// "unsupported" | "failed", and .message is the localised text (catalogue "js.camera.<code>").

import { msg } from "./i18n.js";

const FALLBACK_TEXT = {
  denied: "Camera permission was refused.",
  not_found: "No camera was found.",
  in_use: "The camera is in use by another program.",
  insecure: "The camera needs a secure (https) connection.",
  unsupported: "This browser cannot use a camera.",
  failed: "The camera could not be opened.",
};

export class CameraError extends Error {
  constructor(code, cause) {
    super(msg(`js.camera.${code}`, {}, FALLBACK_TEXT[code] || FALLBACK_TEXT.failed));
    this.name = "CameraError";
    this.code = code;
    this.cause = cause;
  }
}

function classify(e) {
  switch (e && e.name) {
    case "NotAllowedError":
    case "PermissionDeniedError":
    case "SecurityError":
      return "denied";
    case "NotFoundError":
    case "DevicesNotFoundError":
    case "OverconstrainedError":
      return "not_found";
    case "NotReadableError":
    case "TrackStartError":
    case "AbortError":
      return "in_use";
    default:
      return "failed";
  }
}

async function getStream(attempts) {
  let lastError = null;
  for (const constraints of attempts) {
    try {
      return await navigator.mediaDevices.getUserMedia(constraints);
    } catch (e) {
      lastError = e;
      const code = classify(e);
      // permission refused or device busy: another constraint set will not help
      if (code === "denied" || code === "in_use") break;
    }
  }
  throw new CameraError(classify(lastError), lastError);
}

/**
 * Open a camera into videoEl. facingMode "user" (front, default) or "environment" (rear); any camera is used
 * when the preferred one is missing. Resolves to { stream, stop() } once the video has frames.
 */
export async function openCamera(videoEl, { facingMode = "user", width = 1280, height = 720 } = {}) {
  if (!window.isSecureContext) throw new CameraError("insecure");
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) throw new CameraError("unsupported");
  const stream = await getStream([
    { audio: false, video: { facingMode: { ideal: facingMode }, width: { ideal: width }, height: { ideal: height } } },
    { audio: false, video: { facingMode: { ideal: facingMode } } },
    { audio: false, video: true },
  ]);
  const stop = () => {
    for (const track of stream.getTracks()) track.stop();
    if (videoEl.srcObject === stream) videoEl.srcObject = null;
  };
  try {
    videoEl.muted = true;
    videoEl.playsInline = true;
    videoEl.setAttribute("playsinline", "");
    videoEl.srcObject = stream;
    await videoEl.play();
    await videoReady(videoEl);
  } catch (e) {
    stop();
    throw e instanceof CameraError ? e : new CameraError("failed", e);
  }
  return { stream, stop };
}

/** Resolves when videoEl has a current frame with known dimensions. */
export function videoReady(videoEl, timeoutMs = 10000) {
  if (videoEl.readyState >= 2 && videoEl.videoWidth > 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new CameraError("failed", new Error("video produced no frames")));
    }, timeoutMs);
    const check = () => {
      if (videoEl.readyState >= 2 && videoEl.videoWidth > 0) {
        cleanup();
        resolve();
      }
    };
    const cleanup = () => {
      clearTimeout(timer);
      videoEl.removeEventListener("loadeddata", check);
      videoEl.removeEventListener("playing", check);
      videoEl.removeEventListener("resize", check);
    };
    videoEl.addEventListener("loadeddata", check);
    videoEl.addEventListener("playing", check);
    videoEl.addEventListener("resize", check);
  });
}

/** Draw the current video frame (un-mirrored) into canvas, scaled to at most maxWidth; returns the 2D context. */
export function drawFrame(videoEl, canvas, maxWidth = 640) {
  const vw = videoEl.videoWidth;
  const vh = videoEl.videoHeight;
  const scale = Math.min(1, maxWidth / vw);
  const w = Math.max(1, Math.round(vw * scale));
  const h = Math.max(1, Math.round(vh * scale));
  if (canvas.width !== w) canvas.width = w;
  if (canvas.height !== h) canvas.height = h;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.drawImage(videoEl, 0, 0, w, h);
  return ctx;
}

function toBlob(canvas, type, quality) {
  return new Promise((resolve, reject) => {
    canvas.toBlob((b) => (b ? resolve(b) : reject(new Error("canvas.toBlob gave nothing"))), type, quality);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Capture count JPEG frames, intervalMs apart, at most maxWidth wide (never mirrored); onFrame(i) after each. */
export async function captureFrames(
  videoEl,
  { count = 5, intervalMs = 200, maxWidth = 640, type = "image/jpeg", quality = 0.9, onFrame = null } = {},
) {
  await videoReady(videoEl);
  const canvas = document.createElement("canvas");
  const frames = [];
  for (let i = 0; i < count; i++) {
    if (i > 0) await sleep(intervalMs);
    drawFrame(videoEl, canvas, maxWidth);
    frames.push(await toBlob(canvas, type, quality));
    if (onFrame) onFrame(i);
  }
  return frames;
}
