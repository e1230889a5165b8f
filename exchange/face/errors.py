"""The face feature's one error: :class:`FaceError` with a stable :class:`FaceErrorCode` and a message fit for the
citizen in both languages. Its own module so image decoding and the engine can both raise it without importing
each other."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from exchange.kit.errors import ExchangeError


class FaceErrorCode(StrEnum):
    BAD_IMAGE = "BAD_IMAGE"
    NO_FACE = "NO_FACE"
    MULTIPLE_FACES = "MULTIPLE_FACES"
    LOW_QUALITY = "LOW_QUALITY"
    MODEL_UNAVAILABLE = "MODEL_UNAVAILABLE"


_MESSAGES: Final[dict[FaceErrorCode, tuple[str, str]]] = {
    FaceErrorCode.BAD_IMAGE: (
        "The picture could not be read. Please take it again.",
        "无法读取照片，请重新拍摄。",
    ),
    FaceErrorCode.NO_FACE: (
        "No face was found. Face the camera in good light, with your whole face in the frame.",
        "未检测到人脸。请正对摄像头，在光线充足处将整张脸置于画面中。",
    ),
    FaceErrorCode.MULTIPLE_FACES: (
        "More than one face is in the picture. Make sure only you are in front of the camera.",
        "画面中有多张人脸。请确保只有您本人在摄像头前。",
    ),
    FaceErrorCode.LOW_QUALITY: (
        "The picture is not clear enough. Move closer, hold still and find better light.",
        "照片不够清晰。请靠近一些、保持不动，并在光线充足处拍摄。",
    ),
    FaceErrorCode.MODEL_UNAVAILABLE: (
        "Face verification is temporarily unavailable. Please try again later or use another way to sign in.",
        "人脸核验暂不可用，请稍后再试或改用其他方式登录。",
    ),
}

_KIND: Final[dict[FaceErrorCode, str]] = {
    FaceErrorCode.BAD_IMAGE: "invalid",
    FaceErrorCode.NO_FACE: "invalid",
    FaceErrorCode.MULTIPLE_FACES: "invalid",
    FaceErrorCode.LOW_QUALITY: "invalid",
    FaceErrorCode.MODEL_UNAVAILABLE: "internal",
}


class FaceError(ExchangeError):
    """A face could not be used. ``code`` is stable; ``message``/``message_zh`` may be shown to the citizen;
    ``detail`` is for logs (it may name sizes and scores, never image content)."""

    code = "FACE_ERROR"

    def __init__(self, code: FaceErrorCode, detail: str | None = None) -> None:
        super().__init__(detail or code.value, code=code.value)
        self.face_code = code
        self.kind = _KIND[code]
        self.message, self.message_zh = _MESSAGES[code]

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}" if self.detail else self.code
