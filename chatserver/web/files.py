"""GET /files/CONV/ATTACHMENT/VARIANT?e=EXPIRES&s=SIGNATURE: an attachment's bytes, for whoever
holds a current signed URL (the API and the socket hand them out, one hour by default).

Served so that a file can never act as a page of ours: nosniff, a CSP that allows nothing but
the image itself (and sandboxes anything else), and everything but images downloaded.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from chatserver.attachments.service import Files
from chatserver.attachments.storage import Missing
from chatserver.core.attachments import content_disposition
from chatserver.store.clients import StorageError

CSP = "default-src 'none'; img-src 'self'; sandbox"
_ERRORS = {
    "bad_signature": (403, "the link is not valid"),
    "expired": (410, "the link has expired: ask for the attachment again for a fresh one"),
}


async def serve_file(request: Request) -> Response:
    files: Files = request.app.state.gateway.files
    conv_id, att_id = request.path_params["conversation_id"], request.path_params["attachment_id"]
    variant = request.path_params["variant"]
    problem = files.signer.check(
        conv_id, att_id, variant, request.query_params.get("e", ""),
        request.query_params.get("s", ""), files.hub.now_ms(),
    )  # fmt: skip
    if problem:
        return _error(*_ERRORS[problem], problem)
    try:
        att = await files.hub.attachments.get(conv_id, att_id)
        if att is None or (variant == "thumb" and not att.thumb_type):
            return _error(404, "no such file (its conversation may have expired)", "not_found")
        blob = await files.open(conv_id, att, variant)
    except Missing:
        return _error(404, "no such file (its conversation may have expired)", "not_found")
    except (StorageError, OSError) as exc:
        return _error(503, f"storage unavailable, retry ({type(exc).__name__})", "unavailable")
    content_type = att.type if variant == "file" else att.thumb_type
    if content_type == "text/plain":
        content_type = "text/plain; charset=utf-8"
    expires_in = max(0, (int(request.query_params["e"]) - files.hub.now_ms()) // 1000)
    headers = {
        **_SAFE, "Content-Length": str(blob.size),
        "Content-Disposition": content_disposition(att.name, att.type),
        "Cache-Control": f"private, max-age={expires_in}",
    }  # fmt: skip
    return StreamingResponse(blob.chunks, headers=headers, media_type=content_type)


_SAFE = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": CSP,
    "Cross-Origin-Resource-Policy": "cross-origin",  # a store's page shows the image
    "Access-Control-Allow-Origin": "*",  # the URL itself is the permission
    "Referrer-Policy": "no-referrer",
}


def _error(status: int, message: str, code: str) -> Response:
    return JSONResponse({"error": code, "message": message}, status, headers=_SAFE)


routes = [Route("/files/{conversation_id}/{attachment_id}/{variant}", serve_file, methods=["GET"])]
