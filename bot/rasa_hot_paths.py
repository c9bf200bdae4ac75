"""Cheaper versions of Rasa 3.6's work per message, with the same results (issue 21).

Found by profiling the Rasa server under `make bench` (py-spy; docs/figures.md):

- Every event read from the tracker store or received from the action server is turned
  into its class by `Event.resolve_by_type`, which walks all of Event's subclasses
  recursively each time: 3 % of the server's CPU. The classes are looked up in a table
  built once; a name the table does not know goes to Rasa's own lookup as before.
- Rasa validates every action server reply with `jsonschema.validate`, which first
  re-checks the schema itself (a third of the CPU when it was found, issue 13). The reply
  is validated against the same schema by a validator built once.

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


def install() -> None:
    look_up_event_classes_once()
    validate_action_results_with_a_compiled_schema()
