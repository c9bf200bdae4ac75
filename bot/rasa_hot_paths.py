"""Cheaper versions of Rasa 3.6's work per message, with the same results (issue 21).

Found by profiling the Rasa server under `make bench` (py-spy; docs/figures.md):

- Every event read from the tracker store or received from the action server is turned
  into its class by `Event.resolve_by_type`, which walks all of Event's subclasses
  recursively each time: 3 % of the server's CPU. The classes are looked up in a table
  built once; a name the table does not know goes to Rasa's own lookup as before.
- Rasa validates every action server reply with `jsonschema.validate`, which first
  re-checks the schema itself (a third of the CPU when it was found, issue 13). The reply
  is validated against the same schema by a validator built once.
- Each graph run (the NLU pipeline once per message, the policies once per predicted
  action) worked out again which nodes the targets need, walking the schema recursively,
  and handed the graph to dask's scheduler, which orders it again: 6 % of the CPU. The
  order is worked out once per set of targets, and the nodes are called in it, each with
  its parents' outputs, as dask called them. Training keeps Rasa's runner.
- Every action call sends the whole conversation as JSON, encoded by the standard library
  (7 % of the CPU). ujson (already a dependency of Rasa's) encodes the same JSON several
  times faster; anything it refuses is encoded as before.

bot/servers.py installs them before the Rasa server starts.
"""

from __future__ import annotations


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
    from jsonschema import ValidationError
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)
    original = RemoteAction._validate_action_result

    def validate(self: RemoteAction, result: dict) -> bool:
        try:
            validator.validate(result)
        except ValidationError:
            return original(self, result)  # Rasa's own error message
        return True

    RemoteAction._validate_action_result = validate


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


def encode_action_calls_faster() -> None:
    import json

    import ujson
    from rasa.utils.endpoints import EndpointConfig

    def dumps(value) -> str:
        try:
            return ujson.dumps(value)
        except (TypeError, OverflowError, ValueError):
            return json.dumps(value)  # the same error or text as before

    session = EndpointConfig.session

    def session_with_fast_json(self: EndpointConfig):
        opened = session(self)
        opened._json_serialize = dumps  # aiohttp's encoder for `json=` bodies
        return opened

    EndpointConfig.session = session_with_fast_json


def install() -> None:
    look_up_event_classes_once()
    validate_action_results_with_a_compiled_schema()
    run_graphs_in_a_fixed_order()
    encode_action_calls_faster()
