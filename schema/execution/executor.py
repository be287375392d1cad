"""The plan executor: Strawberry's graphql-core executor that runs each query and mutation from
a plan compiled once per document, operation and `@skip`/`@include` variable values, and
hands anything a plan does not cover back to graphql-core (counted in the metrics by reason).

Plugged in as the schema's `execution_context_class`, so Strawberry runs everything around
execution as before (parsing, validation, extensions) and every resolver is the one
Strawberry built (argument conversion, field extensions, permission classes, the input
guard), called with the same resolve info graphql-core would give it.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from graphql import (
    DirectiveNode,
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLAbstractType,
    GraphQLError,
    GraphQLObjectType,
    GraphQLOutputType,
    ListTypeNode,
    NamedTypeNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    OperationType,
    TypeNode,
    VariableNode,
    Visitor,
    visit,
)
from graphql.execution.collect_fields import FieldDetailsList, collect_fields
from graphql.execution.executor import (
    collect_iterator_awaitables,
    invalid_return_type_error,
)
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from resolvers.metrics import PLAN_FALLBACKS, PLANS_COMPILED
from schema.execution.documents import CACHED_TEXT_LIMIT
from schema.execution.plans import (
    PLAIN,
    Completer,
    ObjectPlan,
    Selection,
    Step,
    compile_operation,
    shareable,
)

log = logging.getLogger("graphql.plans")

# Directives a plan knows: they only decide which fields are collected.
PLANNED_DIRECTIVES = frozenset({"skip", "include"})
# Plans of one operation for different `@skip`/`@include` variable values.
MAX_VARIANTS = 16


def _named_type(node: TypeNode) -> str:
    """The name of a variable's type, through its non-null and list wrappers."""
    while isinstance(node, NonNullTypeNode | ListTypeNode):
        if isinstance(node, ListTypeNode):
            return ""  # a list of Booleans decides no directive
        node = node.type
    return node.name.value if isinstance(node, NamedTypeNode) else ""


class _DirectiveScan(Visitor):
    """The directives a document uses in its operations and fragments, and the variables
    their arguments read."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()
        self.variables: set[str] = set()

    def enter_directive(self, node: DirectiveNode, *_: Any) -> None:
        self.names.add(node.name.value)
        for argument in node.arguments or ():
            if isinstance(argument.value, VariableNode):
                self.variables.add(argument.value.name.value)


class OperationPlans:
    """The plans of one operation of one document, by the values of the variables its
    `@skip`/`@include` directives read; `unplanned` says why it has none."""

    __slots__ = ("directive_variables", "document", "unplanned", "variants")

    def __init__(self, document: DocumentNode, operation: OperationDefinitionNode) -> None:
        self.document = document
        self.variants: OrderedDict[tuple[Any, ...], ObjectPlan] = OrderedDict()
        scan = _DirectiveScan()
        visit(document, scan)
        # Only this operation's Boolean variables can decide its directives (validation
        # holds every directive it reaches to them): a variable of the same name that
        # another operation of the document declares, of another type (an input object, a
        # list), neither keys its plans nor is hashed.
        booleans = {
            d.variable.name.value
            for d in operation.variable_definitions or ()
            if _named_type(d.type) == "Boolean"
        }
        self.directive_variables = tuple(sorted(scan.variables & booleans))
        self.unplanned: str | None = None
        if scan.names - PLANNED_DIRECTIVES:
            self.unplanned = "directive"
        elif any(
            isinstance(d, FragmentDefinitionNode) and d.variable_definitions
            for d in document.definitions
        ):
            self.unplanned = "fragment-variables"


class PlanCache:
    """Plans of the most recently used operations (a bounded LRU), for one schema."""

    def __init__(self, capacity: int = 512) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[tuple[str, str | None, bool], OperationPlans] = OrderedDict()

    def entry(
        self, document: DocumentNode, operation: OperationDefinitionNode, hide_suggestions: bool
    ) -> OperationPlans | None:
        source = document.loc.source.body if document.loc is not None else None
        if source is None or len(source) > CACHED_TEXT_LIMIT:
            # Such a text is parsed anew for every request (documents.py): a plan made from
            # it would serve that request only, and cost more than it saves.
            return None
        name = operation.name.value if operation.name is not None else None
        key = (source, name, hide_suggestions)
        found = self._entries.get(key)
        # The same text parsed again (the parse cache forgot it): plans hold the nodes of the
        # document they were made from, so they are made again for the new one.
        if found is None or found.document is not document:
            found = OperationPlans(document, operation)
            self._entries[key] = found
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)
        else:
            self._entries.move_to_end(key)
        return found

    def __len__(self) -> int:
        return len(self._entries)


class PlanExecutor(StrawberryGraphQLCoreExecutionContext):
    """Runs queries and mutations from compiled plans; subscriptions, and operations using
    anything a plan does not cover, run on graphql-core's executor unchanged."""

    plans: PlanCache = PlanCache()
    document: DocumentNode | None = None

    @classmethod
    def build(cls, schema: Any, document: DocumentNode, *args: Any, **kwargs: Any) -> Any:
        executor = super().build(schema, document, *args, **kwargs)
        if isinstance(executor, PlanExecutor):
            executor.document = document
            if executor.operation.operation is OperationType.SUBSCRIPTION:
                # Counted once per subscription, not once per event.
                PLAN_FALLBACKS.labels("subscription").inc()
        return executor

    # ------------------------------------------------------------------------ the operation

    def execute_operation(self, serially: bool | None = None) -> Any:
        operation_type = self.operation.operation
        if operation_type is OperationType.SUBSCRIPTION:
            return super().execute_operation(serially)
        plan = self._plan()
        if isinstance(plan, str):
            PLAN_FALLBACKS.labels(plan).inc()
            return super().execute_operation(serially)
        if serially is None:
            serially = operation_type is OperationType.MUTATION
        # graphql-core's execute_operation, with the root fields run from the plan.
        try:
            if serially:
                result = self.plan_fields_serially(plan, self.root_value)
            else:
                result = self.plan_fields(plan, self.root_value, None)
            if self.is_awaitable(result):
                return self._await_data(result)
            data = result
        except GraphQLError as error:
            self.collected_errors.add(error, None)
            return self.finish(self.build_response(None))
        return self.finish(self.build_response(data))

    async def _await_data(self, result: Awaitable[dict[str, Any]]) -> Any:
        try:
            data = await result
        except GraphQLError as error:
            self.collected_errors.add(error, None)
            return self.build_response(None)
        except Exception:
            await self.cancel_incremental_work()
            self.run_async_work_finished_hook()
            raise
        return self.build_response(data)

    def _plan(self) -> ObjectPlan | str:
        """The root plan of this operation, or why graphql-core runs it instead."""
        if self.abort_signal is not None:
            return "abort-signal"
        manager = self.middleware_manager
        if manager is not None and manager.middlewares:
            return "middleware"
        if not self.error_propagation:
            return "error-propagation"
        document = self.document
        if document is None:
            return "no-document"
        entry = self.plans.entry(document, self.operation, self.hide_suggestions)
        if entry is None:
            return "uncached-document"
        if entry.unplanned is not None:
            return entry.unplanned
        coerced = self.variable_values.coerced
        variant = tuple(coerced.get(name) for name in entry.directive_variables)
        plan = entry.variants.get(variant)
        if plan is not None:
            return plan
        root_type = self.schema.get_root_type(self.operation.operation)
        if root_type is None:
            return "no-root-type"
        try:
            collected = collect_fields(
                self.schema,
                self.fragments,
                self.variable_values,
                root_type,
                self.operation,
                self.hide_suggestions,
            )
            if collected.new_defer_usages:
                return "directive"
            plan = compile_operation(self, root_type, collected.grouped_field_set)
        except RecursionError:
            return "too-deep"
        except GraphQLError:
            return "compile-error"
        except Exception:
            # A fault of the compiler: graphql-core still answers, and it shows in the log.
            log.exception("no execution plan for operation %s", self.operation.name)
            return "compile-error"
        entry.variants[variant] = plan
        while len(entry.variants) > MAX_VARIANTS:
            entry.variants.popitem(last=False)
        PLANS_COMPILED.inc()
        return plan

    # ----------------------------------------------------------------- running the plan

    def plan_fields(self, plan: ObjectPlan, source: Any, path: Path | None) -> Any:
        """graphql-core's execute_fields over the plan's steps."""
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_keys: list[str] | None = None
        try:
            for step in plan.steps:
                value = step.run(self, source, path)
                results[step.key] = value
                if value.__class__ not in PLAIN and is_awaitable(value):
                    if awaitable_keys is None:
                        awaitable_keys = [step.key]
                    else:
                        awaitable_keys.append(step.key)
        except Exception:
            if awaitable_keys:
                self.settle_in_background([results[key] for key in awaitable_keys])
            raise
        if awaitable_keys is None:
            return results
        return self._gather_fields(results, awaitable_keys)

    async def _gather_fields(self, results: dict[str, Any], keys: list[str]) -> dict[str, Any]:
        if len(keys) == 1:
            key = keys[0]
            results[key] = await results[key]
        else:
            awaited = await gather_with_cancel(*(results[key] for key in keys))
            results.update(zip(keys, awaited, strict=True))
        return results

    def plan_fields_serially(self, plan: ObjectPlan, source: Any) -> Any:
        """graphql-core's execute_fields_serially: each root field after the previous one
        has completed (mutations)."""
        results: dict[str, Any] = {}
        steps = plan.steps
        for index, step in enumerate(steps):
            value = step.run(self, source, None)
            if self.is_awaitable(value):
                return self._continue_serially(steps, index, value, results, source)
            results[step.key] = value
        return results

    async def _continue_serially(
        self,
        steps: list[Step],
        index: int,
        pending: Awaitable[Any],
        results: dict[str, Any],
        source: Any,
    ) -> dict[str, Any]:
        results[steps[index].key] = await pending
        for step in steps[index + 1 :]:
            value = step.run(self, source, None)
            if self.is_awaitable(value):
                value = await value
            results[step.key] = value
        return results

    def plan_arguments(self, step: Step) -> dict[str, Any]:
        """The arguments of a field that reads variables, coerced as graphql-core does; the
        same for every call of the field in this operation, so coerced once when shareable."""
        memo: dict[Step, dict[str, Any]] | None = getattr(self, "_plan_arguments", None)
        if memo is None:
            memo = self._plan_arguments = {}
        arguments = memo.get(step)
        if arguments is None:
            arguments = get_argument_values(
                step.field_def,
                step.node,
                self.variable_values,
                step.details[0].fragment_variable_values,
                self.hide_suggestions,
            )
            if step.shared_arguments and shareable(arguments):
                memo[step] = arguments
        return arguments

    def plan_complete(self, step: Step, info: Any, path: Path, result: Any) -> Any:
        """The resolved value of a step completed (graphql-core's execute_field after the
        resolver returned)."""
        try:
            if result.__class__ not in PLAIN and self.is_awaitable(result):
                return self._complete_awaitable(step, info, path, result)
            completed = step.complete(self, info, path, result)
            if completed.__class__ not in PLAIN and self.is_awaitable(completed):
                return self._await_completed(step, path, completed)
        except Exception as raw_error:
            self.handle_field_error(raw_error, step.return_type, step.details, path)
            return None
        return completed

    async def _complete_awaitable(self, step: Step, info: Any, path: Path, result: Any) -> Any:
        try:
            resolved = await result
            completed = step.complete(self, info, path, resolved)
            if self.is_awaitable(completed):
                completed = await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, step.return_type, step.details, path)
            completed = None
        return completed

    async def _await_completed(self, step: Step, path: Path, completed: Awaitable[Any]) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, step.return_type, step.details, path)
            return None

    def plan_items(
        self,
        complete_item: Completer,
        item_type: GraphQLOutputType,
        details: FieldDetailsList,
        info: Any,
        path: Path,
        items: Any,
        leaf_items: bool,
    ) -> Any:
        """graphql-core's complete_iterable_value: each item completed in one loop, the
        awaitable ones gathered together."""
        is_awaitable = self.is_awaitable
        completed: list[Any] = []
        append = completed.append
        awaitable_indices: list[int] | None = None
        iterator = iter(items)
        index = 0
        try:
            for item in iterator:
                if item.__class__ not in PLAIN and is_awaitable(item):
                    item_path = Path(path, index, None)
                    append(
                        self._complete_awaitable_item(
                            complete_item, item_type, details, info, item_path, item
                        )
                    )
                    awaitable_indices = _marked(awaitable_indices, index)
                else:
                    # Leaves need their path only for an error: made then.
                    item_path = None if leaf_items else Path(path, index, None)
                    try:
                        value = complete_item(self, info, item_path, item)
                        if value.__class__ not in PLAIN and is_awaitable(value):
                            append(
                                self._await_item(
                                    value, item_type, details, item_path or Path(path, index, None)
                                )
                            )
                            awaitable_indices = _marked(awaitable_indices, index)
                        else:
                            append(value)
                    except Exception as raw_error:
                        self.handle_field_error(
                            raw_error, item_type, details, item_path or Path(path, index, None)
                        )
                        append(None)
                index += 1
        except Exception:
            pending = [completed[i] for i in awaitable_indices or ()]
            pending.extend(collect_iterator_awaitables(iterator, is_awaitable))
            if pending:
                self.settle_in_background(pending)
            raise
        if awaitable_indices is None:
            return completed
        return self._gather_items(completed, awaitable_indices)

    async def _gather_items(self, completed: list[Any], indices: list[int]) -> list[Any]:
        if len(indices) == 1:
            index = indices[0]
            completed[index] = await completed[index]
        else:
            awaited = await gather_with_cancel(*(completed[index] for index in indices))
            for index, value in zip(indices, awaited, strict=True):
                completed[index] = value
        return completed

    async def _await_item(
        self,
        value: Awaitable[Any],
        item_type: GraphQLOutputType,
        details: FieldDetailsList,
        item_path: Path,
    ) -> Any:
        try:
            return await value
        except Exception as raw_error:
            self.handle_field_error(raw_error, item_type, details, item_path)
            return None

    async def _complete_awaitable_item(
        self,
        complete_item: Completer,
        item_type: GraphQLOutputType,
        details: FieldDetailsList,
        info: Any,
        item_path: Path,
        item: Awaitable[Any],
    ) -> Any:
        try:
            resolved = await item
            completed = complete_item(self, info, item_path, resolved)
            if self.is_awaitable(completed):
                completed = await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, item_type, details, item_path)
            return None
        return completed

    async def plan_checked_object(
        self, matches: Awaitable[bool], selection: Selection, path: Path, result: Any
    ) -> Any:
        """An object whose `is_type_of` answered with an awaitable."""
        if not await matches:
            raise invalid_return_type_error(selection.object_type, result, selection.details)
        value = self.plan_fields(selection.get(self), result, path)
        if self.is_awaitable(value):
            return await value
        return value

    async def plan_resolved_abstract(
        self,
        runtime_type: Awaitable[Any],
        abstract_type: GraphQLAbstractType,
        for_type: Callable[[GraphQLObjectType], Completer],
        details: FieldDetailsList,
        info: Any,
        path: Path,
        result: Any,
    ) -> Any:
        """A value of an interface or union whose type resolver answered with an awaitable."""
        object_type = self.ensure_valid_runtime_type(
            await runtime_type, abstract_type, details, info, result
        )
        value = for_type(object_type)(self, info, path, result)
        if self.is_awaitable(value):
            return await value
        return value


def _marked(indices: list[int] | None, index: int) -> list[int]:
    if indices is None:
        return [index]
    indices.append(index)
    return indices


def plan_executor(capacity: int = 512) -> type[PlanExecutor]:
    """A plan executor class with a plan cache of its own (one per schema)."""
    return type("PlanExecutor", (PlanExecutor,), {"plans": PlanCache(capacity)})


def executor_class(plans: bool) -> type[StrawberryGraphQLCoreExecutionContext]:
    """The executor a schema runs operations with: from plans, or graphql-core's own (the one
    Strawberry uses when given none)."""
    return plan_executor() if plans else StrawberryGraphQLCoreExecutionContext


__all__ = ["PlanCache", "PlanExecutor", "executor_class", "plan_executor"]
