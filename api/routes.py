"""The endpoints. Thin: check limits, route the texts, hand them to the batcher, shape the answer."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from api.dependencies import Authorized, JSONBody, ServiceDep
from api.parsing import FastJSONRoute
from api.responses import SafeJSONResponse
from api.schemas import ErrorResponse, ModelInfo, ModelsResponse, StatusResponse, TagRequest, TagResponse
from api.service import ServiceState
from ner.dictionary import DictionaryError, DictionaryTooLarge
from ner.router import UnknownModelError
from ner.tagger import Alternative, Analysis, Entity, TagOptions
from ner.text import min_tokens, offsets_in

router = APIRouter(route_class=FastJSONRoute)
PAGE = Path(__file__).resolve().parent / "static" / "index.html"
SWAGGER_UI = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5.17.14"  # an exact version: npm's never change


def _page_policy(page: str) -> str:
    """The page's Content-Security-Policy: its own inline script (by hash) runs, and talks only to this origin."""
    script = page.split("<script>", 1)[1].split("</script>", 1)[0]
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    return (
        f"default-src 'none'; script-src 'sha256-{digest}'; style-src 'unsafe-inline'; connect-src 'self'; "
        "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )


PAGE_BYTES = PAGE.read_bytes()
PAGE_POLICY = _page_policy(PAGE_BYTES.decode("utf-8"))
# The page and its policy: a release that changes either is a new page. Weak: the same page gzipped is the same.
PAGE_TAG = hashlib.sha256(PAGE_BYTES + PAGE_POLICY.encode()).hexdigest()[:32]
# What the middleware may answer on any route: a body sent too slowly or too large, headers too large, 503
# when the request ran out of time or bodies held at once reached their limit (with Retry-After), and 500 when
# something failed unexpectedly.
EDGE_ERRORS = (408, 413, 431, 500, 503)
RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before trying again", "schema": {"type": "integer"}}}


def _errors(*statuses: int) -> dict[int | str, dict]:
    """The OpenAPI ``responses`` of these error statuses: an :class:`ErrorResponse` each."""
    headers = {503: {"headers": RETRY_AFTER}}
    return {status: {"model": ErrorResponse, **headers.get(status, {})} for status in statuses}


def _fail(
    status: int, kind: str, message: str, limit: str | None = None, headers: dict[str, str] | None = None
) -> HTTPException:
    return HTTPException(status, {"type": kind, "message": message, "limit": limit}, headers)


def too_many_texts(count: object, most: int) -> HTTPException:
    return _fail(422, "too_many_texts", f"{count} texts; at most {most} per request", "max_texts")


def _too_many_tokens(count: str, nbest: int, limit: int) -> HTTPException:
    times = f" x (1 + nbest {nbest})" if nbest else ""
    return _fail(422, "too_many_tokens", f"{count} tokens{times}; at most {limit} per request", "max_tokens")


def _not_ready(service: ServiceState) -> HTTPException:
    """Why the service takes no request now, in the 503 it answers."""
    if service.router is None and "router" in service.load_errors:
        return _fail(503, "not_ready", "the service could not start its models: its log says why")
    soon = {"Retry-After": "1"}  # another instance (or this one, loaded) may answer
    if service.router is None:
        return _fail(503, "not_ready", "models are still loading", headers=soon)
    return _fail(503, "not_ready", "the service is stopping", headers=soon)


@router.post(
    "/tag",
    operation_id="tag",
    response_model=TagResponse,
    response_model_exclude_none=True,
    responses=_errors(400, 401, 404, 415, 422, *EDGE_ERRORS),
    summary="Tag text: entities with offsets, labels and probabilities",
    dependencies=[Authorized, JSONBody],
)
async def tag(body: TagRequest, request: Request, service: ServiceDep) -> Response:
    settings = service.settings
    if not service.ready or service.router is None:
        raise _not_ready(service)
    texts = body.all_texts()
    if len(texts) > settings.max_texts:
        raise too_many_texts(len(texts), settings.max_texts)
    longest = max(len(t) for t in texts)
    if longest > settings.max_chars:
        raise _fail(422, "text_too_long", f"a text of {longest} characters; at most {settings.max_chars}", "max_chars")
    if body.nbest > settings.max_nbest:
        raise _fail(422, "nbest_too_large", f"nbest {body.nbest}; at most {settings.max_nbest}", "max_nbest")
    if isinstance(body.dictionary, dict) and len(body.dictionary) > settings.max_dictionary:
        count = len(body.dictionary)
        raise _fail(
            422, "dictionary_too_large", f"{count} entries; at most {settings.max_dictionary}", "max_dictionary"
        )
    sources, plains = texts, None
    if body.markup != "text":
        plains = await service.read(texts, body.markup)
        texts = [plain.text for plain in plains]
    # A request far over the token limit is refused before the work of tokenizing it.
    at_least = sum(map(min_tokens, texts))
    if at_least * (1 + body.nbest) > settings.max_tokens:
        raise _too_many_tokens(f"at least {at_least}", body.nbest, settings.max_tokens)
    options = TagOptions(
        scores=body.scores or body.min_score > 0, tokens=body.tokens, nbest=body.nbest, capitals=body.capitals
    )
    try:
        request.state.model = service.router.choose(body.model, body.lang)
        route = await service.route(texts, body.model, body.lang, body.capitals)
    except UnknownModelError as error:
        raise _fail(404, "unknown_model", str(error)) from None
    request.state.model = route.name  # the models that read the texts (for lang auto, maybe fewer)
    try:
        dictionaries = await service.dictionaries(route, body.dictionary, body.ignore_case)
    except DictionaryTooLarge as error:
        raise _fail(422, "dictionary_too_large", str(error), "max_dictionary_tokens") from None
    except DictionaryError as error:
        raise _fail(422, "invalid_dictionary", str(error)) from None
    work = service.work(route, options)
    if work > settings.max_tokens:
        raise _too_many_tokens(str(work // (1 + body.nbest)), body.nbest, settings.max_tokens)
    analyses = await service.analyze(route, options, getattr(request.state, "deadline", None), dictionaries)
    if plains is not None:
        analyses = [plain.source_analysis(analysis) for plain, analysis in zip(plains, analyses)]
    # Plain dicts, shaped as TagResponse documents: building and re-validating pydantic objects for
    # every entity would cost more than tagging a sentence.
    return await service.render(
        work,
        lambda: SafeJSONResponse(
            {"model": route.name, "results": [_result(a, body, text) for a, text in zip(analyses, sources)]}
        ),
    )


def _result(analysis: Analysis, body: TagRequest, text: str) -> dict:
    """One ``TaggedText``, its offsets counted in ``body.offsets``."""
    # filtered on the score as shown (rounded), so that no entity shown with 0.5 is left out by min_score 0.5
    entities = [entity for entity in map(Entity.to_dict, analysis.entities) if entity.get("score", 1) >= body.min_score]
    if not body.scores:  # computed for min_score alone
        entities = [{k: v for k, v in e.items() if k != "score"} for e in entities]
    result: dict = {"entities": entities}
    if body.tokens:
        result["tokens"] = [{"text": t.text, "start": t.start, "end": t.end, "tag": t.tag} for t in analysis.tokens]
    if body.nbest:
        result["nbest"] = [*map(Alternative.to_dict, analysis.alternatives)]
    if table := offsets_in(text, body.offsets):
        spans = [*entities, *result.get("tokens", []), *(e for a in result.get("nbest", []) for e in a["entities"])]
        for span in spans:
            span["start"], span["end"] = table[span["start"]], table[span["end"]]
    return result


@router.get(
    "/models",
    operation_id="models",
    response_model=ModelsResponse,
    responses=_errors(401, *EDGE_ERRORS),
    summary="The loaded models",
    dependencies=[Authorized],
)
async def models(service: ServiceDep) -> ModelsResponse:
    if service.router is None:
        raise _not_ready(service)
    infos = []
    for name, tagger in service.router.taggers.items():
        infos.append(
            ModelInfo(
                name=name,
                language=tagger.language,
                labels=tagger.labels,
                version=tagger.bundle.info.get("version"),
                default=name == service.router.default,
                backend=tagger.backend.name,
                scores=tagger.bundle.scores,
            )
        )
    routing = service.router
    return ModelsResponse(
        default=routing.default, languages=routing.language_models, scripts=routing.scripts(), models=infos
    )


@router.get(
    "/health",
    operation_id="health",
    response_model=StatusResponse,
    responses=_errors(*EDGE_ERRORS),
    summary="The process is alive",
)
async def health() -> StatusResponse:
    return StatusResponse(status="ok")


@router.get(
    "/ready",
    operation_id="ready",
    response_model=StatusResponse,
    responses=_errors(408, 413, 431, 500)
    | {
        503: {
            "model": StatusResponse | ErrorResponse,
            "description": '{"status": "not ready"}; or the middleware\'s error when the request ran out of time',
        }
    },
    summary="Ready to take traffic: models loaded, not stopping, not saturated",
)
async def ready(service: ServiceDep) -> JSONResponse:
    if service.check_ready():
        return JSONResponse({"status": "ready"})
    return JSONResponse({"status": "not ready"}, status_code=503)


# The schema and its UI need no key (a browser cannot send one to open a page); with keys set, the schema
# says which operations take one, and the UI's Authorize button sends it.
@router.get("/openapi.json", include_in_schema=False)
async def openapi(request: Request) -> JSONResponse:
    return JSONResponse(request.app.openapi())


@router.get("/docs", include_in_schema=False)
async def docs(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=request.scope.get("root_path", "") + "/openapi.json",
        title="NER service",
        swagger_js_url=f"{SWAGGER_UI}/swagger-ui-bundle.js",
        swagger_css_url=f"{SWAGGER_UI}/swagger-ui.css",
    )


@router.get("/", include_in_schema=False)
async def page(request: Request) -> Response:
    # Asked again each time (no-cache), answered 304 while unchanged: a browser never keeps an old page
    # talking to a newer API.
    headers = {"cache-control": "no-cache", "etag": f'W/"{PAGE_TAG}"', "content-security-policy": PAGE_POLICY}
    # Weak comparison (RFC 9110 8.8.3.2): the opaque tags, with or without W/.
    asked = {tag.strip().removeprefix("W/").strip('"') for tag in request.headers.get("if-none-match", "").split(",")}
    if PAGE_TAG in asked or "*" in asked:  # with the Vary the page's gzipped answer has (GZip's, on the 200)
        return Response(status_code=304, headers={**headers, "vary": "Accept-Encoding"})
    return Response(PAGE_BYTES, media_type="text/html; charset=utf-8", headers=headers)
