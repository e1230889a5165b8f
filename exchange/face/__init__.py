"""Citizen authentication by face: image decoding, dlib embeddings and matching, head-turn liveness.

Import the parts you need (``exchange.face.engine``, ``exchange.face.liveness``, ``exchange.face.images``);
importing this package loads no model. ``FaceEngine.shared()`` builds the process-wide engine on first use.
"""
