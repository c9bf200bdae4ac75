"""Cheaper versions of Rasa 3.6's work per message, with the same results (issue 21).

Found by profiling the Rasa server under `make bench` (py-spy; docs/figures.md):

- Every event read from the tracker store or received from the action server is turned
  into its class by `Event.resolve_by_type`, which walks all of Event's subclasses
  recursively each time: 3 % of the server's CPU. The classes are looked up in a table
  built once; a name the table does not know goes to Rasa's own lookup as before.
- Rasa validates every action server reply with `jsonschema.validate`, which first
  re-checks the schema itself (a third of the CPU when it was found, issue 13). The reply
  is validated against the same schema by validators built once, each event against the
  one alternative its name selects (`ReplyCheck`).
- Each graph run (the NLU pipeline once per message, the policies once per predicted
  action) worked out again which nodes the targets need, walking the schema recursively,
  and handed the graph to dask's scheduler, which orders it again: 6 % of the CPU. The
  order is worked out once per set of targets, and the nodes are called in it, each with
  its parents' outputs, as dask called them. Training keeps Rasa's runner.
- Every action call sends the whole conversation as JSON, encoded by the standard library
  (7 % of the CPU). ujson (already a dependency of Rasa's) encodes the same JSON several
  times faster; anything it refuses is encoded as before. The domain, the same on every
  call, is encoded once, and the connections to the action server are kept open (Rasa
  opened a new one for each of the two calls per message).

- DIET's prediction graph is a `tf.function` with an input signature: on every call
  TensorFlow checked each input against the signature in Python, which took longer than
  running the graph (a tenth of the server's CPU, issue 21's second profile). The same
  traced graph is called with the same inputs as tensors, once it exists; a batch that
  does not fit the signature goes the usual way.

- DIET joined each message's features after deep-copying the first featurizer's matrix;
  a shallow copy gives the same matrix (joining builds a new one).

bot/servers.py installs them before the Rasa server starts (training keeps Rasa's code).
"""

from __future__ import annotations

import weakref


def look_up_event_classes_once() -> None:
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses

    original = Event.resolve_by_type
    known: dict[str, type[Event]] = {}

    def resolve_by_type(type_name, default=None):
        if not known:
            # Rasa returns the first subclass with the name, in this order.
            for cls in all_subclasses(Event):
                known.setdefault(cls.type_name, cls)
        found = known.get(type_name)
        return found if found is not None else original(type_name, default)

    Event.resolve_by_type = staticmethod(resolve_by_type)


def validate_action_results_with_a_compiled_schema() -> None:
    from rasa.core.actions.action import RemoteAction

    check = ReplyCheck(RemoteAction.action_response_format_spec())
    original = RemoteAction._validate_action_result

    def validate(self: RemoteAction, result: dict) -> bool:
        if check.is_valid(result):
            return True
        return original(self, result)  # Rasa's own error message

    RemoteAction._validate_action_result = validate


class ReplyCheck:
    """Rasa's schema of an action server's reply, checked by validators built once.

    Each event of a reply must match exactly one of 23 alternatives (`oneOf`), each fixing
    the event's name (`"event": {"const": ...}`): jsonschema tried all 23 on every event
    (8 % of the server's CPU in issue 21's second profile). Only the alternative named by
    the event can match, so an event is valid exactly when it matches the common part of
    the item schema together with that one alternative."""

    def __init__(self, schema: dict) -> None:
        import copy

        from jsonschema.validators import validator_for

        validator_class = validator_for(schema)
        validator_class.check_schema(schema)
        events = schema["properties"]["events"]
        item = events["items"]
        alternatives = item["oneOf"]
        common = {key: value for key, value in item.items() if key != "oneOf"}
        self.by_name = {
            alternative["properties"]["event"]["const"]: validator_class(
                {"allOf": [common, alternative]}
            )
            for alternative in alternatives
        }
        if len(self.by_name) != len(alternatives):
            raise ValueError("two alternatives for one event name")  # then oneOf differs
        outer = copy.deepcopy(schema)
        del outer["properties"]["events"]["items"]
        self.outer = validator_class(outer)

    def is_valid(self, result) -> bool:
        if not self.outer.is_valid(result):
            return False
        events = result.get("events") if isinstance(result, dict) else None
        return not isinstance(events, list) or all(map(self._event_is_valid, events))

    def _event_is_valid(self, event) -> bool:
        name = event.get("event") if isinstance(event, dict) else None
        validator = self.by_name.get(name) if isinstance(name, str) else None
        return validator is not None and validator.is_valid(event)


def run_graphs_in_a_fixed_order() -> None:
    from graphlib import TopologicalSorter

    from rasa.engine.exceptions import GraphRunError
    from rasa.engine.runner.dask import DaskGraphRunner

    def order_for(runner: DaskGraphRunner, targets: tuple[str, ...]) -> list[str]:
        orders = runner.__dict__.setdefault("_orders_by_targets", {})
        if targets not in orders:
            nodes = runner._graph_schema.minimal_graph_schema(list(targets)).nodes
            sorter = TopologicalSorter(
                {name: [need for need in node.needs.values() if need in nodes]
                 for name, node in nodes.items()}
            )  # fmt: skip
            orders[targets] = list(sorter.static_order())
        return orders[targets]

    def run(self: DaskGraphRunner, inputs=None, targets=None) -> dict:
        run_targets = tuple(targets if targets else self._graph_schema.target_names)
        order = order_for(self, run_targets)
        for value in (inputs or {}).values():
            if isinstance(value, str) and (value in order or value in (inputs or {})):
                raise GraphRunError(f"Input value '{value}' clashes with a node name.")
        # As dask saw them: an input is the pair (name, value), a node's output the pair
        # its GraphNode returns.
        outputs = {name: (name, value) for name, value in (inputs or {}).items()}
        nodes = self._graph_schema.nodes
        try:
            for name in order:
                parents = [outputs[need] for need in nodes[name].needs.values()]
                outputs[name] = self._instantiated_nodes[name](*parents)
        except RuntimeError as error:
            raise GraphRunError("Error running runner.") from error
        return dict(outputs[target] for target in run_targets)

    DaskGraphRunner.run = run


class CallEncoder:
    """JSON for action calls: ujson (already a dependency of Rasa's) encodes the same JSON
    several times faster; anything it refuses is encoded by the standard library as
    before. The domain (90 kB, the same dict object on every call: Rasa caches
    `Domain.as_dict()`) is encoded once and put into each call's text."""

    def __init__(self) -> None:
        self._domain: tuple[dict, str] | None = None

    def __call__(self, value) -> str:
        import json

        import ujson

        try:
            domain = value.get("domain") if isinstance(value, dict) else None
            if isinstance(domain, dict) and len(value) > 1:
                rest = ujson.dumps({key: item for key, item in value.items() if key != "domain"})
                return f'{rest[:-1]},"domain":{self._encoded(domain)}}}'
            return ujson.dumps(value)
        except (TypeError, OverflowError, ValueError):
            return json.dumps(value)  # the same error or text as before

    def _encoded(self, domain: dict) -> str:
        import ujson

        if self._domain is None or self._domain[0] is not domain:
            self._domain = (domain, ujson.dumps(domain))  # held, so its id is not reused
        return self._domain[1]


# Sanic (the action server) closes a connection idle for 5 s: the Rasa server lets its
# own go after 2 s, so it never sends a call on a connection the server is closing.
KEEP_IDLE_CONNECTIONS_SECONDS = 2.0


class _KeptOpen:
    """`async with endpoint.session() as session` without closing the session."""

    def __init__(self, session) -> None:
        self.session = session

    async def __aenter__(self):
        return self.session

    async def __aexit__(self, *exc_info) -> None:
        return None


_KEPT_SESSIONS: weakref.WeakSet = weakref.WeakSet()


def encode_action_calls_faster() -> None:
    """Rasa opened a new HTTP session, and so a new connection, for every action call (two
    per message), and encoded the whole call, domain included, with the standard library.
    Each endpoint now keeps one session per event loop, its connections kept open for
    the next calls (no cookies kept), and encodes with `CallEncoder`. A kept connection
    that the server closed just as a call went out (an action server restarting) is
    tried once more on a new connection, where Rasa would have failed the turn."""
    import asyncio

    import aiohttp
    from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT, EndpointConfig

    def session(self: EndpointConfig):
        loop = asyncio.get_running_loop()
        kept = self.__dict__.get("_kept_session")
        if kept is None or kept.closed or kept._loop is not loop:
            auth = self.basic_auth
            kept = aiohttp.ClientSession(  # as Rasa's EndpointConfig.session, kept open
                headers=self.headers,
                auth=aiohttp.BasicAuth(auth["username"], auth["password"]) if auth else None,
                timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
                connector=aiohttp.TCPConnector(keepalive_timeout=KEEP_IDLE_CONNECTIONS_SECONDS),
                cookie_jar=aiohttp.DummyCookieJar(),
                json_serialize=CallEncoder(),
            )
            self.__dict__["_kept_session"] = kept
            _KEPT_SESSIONS.add(kept)
        return _KeptOpen(kept)

    request = EndpointConfig.request

    async def request_again_if_the_connection_was_closed(self: EndpointConfig, *args, **kwargs):
        try:
            return await request(self, *args, **kwargs)
        except aiohttp.ServerDisconnectedError:
            return await request(self, *args, **kwargs)

    EndpointConfig.session = session
    EndpointConfig.request = request_again_if_the_connection_was_closed


async def close_kept_sessions(*_args) -> None:
    """For the server's `after_server_stop`: the kept sessions close with it."""
    for session in list(_KEPT_SESSIONS):
        if not session.closed:
            await session.close()


def call_the_prediction_graph_directly() -> None:
    import tensorflow as tf
    from rasa.shared.constants import DIAGNOSTIC_DATA
    from rasa.utils.tensorflow import models

    original = models.RasaModel._rasa_predict

    def graph_of(model):
        """The traced graph of the model's prediction step and its inputs' specs, or None."""
        found = model.__dict__.get("_traced_prediction")
        if found is None and model._tf_predict_step is not None:
            step = model._tf_predict_step
            specs = step.input_signature[0]
            found = (step.get_concrete_function(), [_Spec(spec) for spec in specs])
            model.__dict__["_traced_prediction"] = found
        return found

    def _rasa_predict(self, batch_in):
        traced = None if self._run_eagerly else graph_of(self)
        if traced is None or not _fits(batch_in, traced[1]):
            return original(self, batch_in)  # traces the graph on the first call
        graph, specs = traced
        tensors = [
            tf.convert_to_tensor(value, spec.dtype)
            for value, spec in zip(batch_in, specs, strict=True)
        ]
        outputs = models.tf_utils.sync_to_numpy_or_python_type(
            graph._call_flat(tensors, graph.captured_inputs)
        )
        if DIAGNOSTIC_DATA in outputs:
            outputs[DIAGNOSTIC_DATA] = self._empty_lists_to_none_in_dict(outputs[DIAGNOSTIC_DATA])
        return outputs

    models.RasaModel._rasa_predict = _rasa_predict


class _Spec:
    """What an input must be to take its place in the graph: dtype, rank, fixed sizes."""

    def __init__(self, spec) -> None:
        self.dtype = spec.dtype
        self.numpy_dtype = spec.dtype.as_numpy_dtype
        dims = spec.shape.as_list()
        self.rank = len(dims)
        self.fixed = [(axis, size) for axis, size in enumerate(dims) if size is not None]

    def admits(self, value) -> bool:
        shape = getattr(value, "shape", None)
        return (
            shape is not None
            and len(shape) == self.rank
            and getattr(value, "dtype", None) == self.numpy_dtype
            and all(shape[axis] == size for axis, size in self.fixed)
        )


def _fits(batch_in, specs: list[_Spec]) -> bool:
    return len(batch_in) == len(specs) and all(
        spec.admits(value) for value, spec in zip(batch_in, specs, strict=True)
    )


def combine_features_without_deep_copies() -> None:
    """DIET reads each message's features of one kind as one matrix: Rasa deep-copied the
    first featurizer's matrix before joining the others to it (8 % of the server's CPU in
    issue 21's third profile). Joining builds a new matrix (`hstack`, `concatenate`) and
    leaves the parts as they were, so a shallow copy of the first gives the same result."""
    import copy

    from rasa.shared.nlu.training_data.message import Message

    def _combine_features(features, featurizers):
        combined = None
        for feature in features:
            if combined is None:
                combined = copy.copy(feature)
                combined.origin = featurizers
            else:
                combined.combine_with_features(feature)
        return combined

    Message._combine_features = staticmethod(_combine_features)


def install() -> None:
    look_up_event_classes_once()
    validate_action_results_with_a_compiled_schema()
    run_graphs_in_a_fixed_order()
    encode_action_calls_faster()
    call_the_prediction_graph_directly()
    combine_features_without_deep_copies()
