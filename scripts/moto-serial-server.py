"""moto's server application, adjusted to be a faithful and fast stand-in for DynamoDB.

Started by scripts/dynamodb-local as `python moto-serial-server.py PORT`. Two changes to
plain `moto_server`, both about TransactWriteItems:

* Requests are handled one at a time, in the order they arrive. moto applies a transaction item by item and rolls
  back on failure, so two transactions running at once on its threads could see each
  other's half-applied writes, or erase each other's committed ones. DynamoDB isolates
  transactions; serving requests one by one is the faithful model, and the clients still
  race each other as they would against AWS.

* A failed transaction is rolled back by restoring only the items it touched. moto itself
  deep-copies every table a transaction names, once per item, before it starts: the cost of
  every transaction then grows with the size of the table, and a busy test run sees
  requests wait for tens of seconds, long past any client timeout. With requests
  serialised, remembering the touched items gives the same tables and the same answers.
  (moto's stream records of a failed transaction are not taken back; MedTrack uses no
  streams.)

And one about Query: moto answers every Query by sorting every item of the table, then
keeping the partition asked for. A query of the base table here looks at its partition
only, and a query of an index skips the sort of the whole table (moto sorts the matches
itself afterwards). Results, order and paging are unchanged; only the cost no longer grows
with the table.

These changes reach into moto's internals, so the server refuses to start on any moto but
the version they were written against; scripts/dynamodb-local installs exactly that one.
"""

import copy
import os
import sys
import threading

import moto

MOTO_VERSION = "5.2.5"
if moto.__version__ != MOTO_VERSION:
    sys.exit(
        f"moto-serial-server: written for moto {MOTO_VERSION}, found {moto.__version__}; "
        "run scripts/dynamodb-local, which installs the right one"
    )

import moto.dynamodb.models as dynamodb_models  # noqa: E402 (after the version check)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


class _TablesAreNotCopied:
    """Stands in for the `copy` module inside moto's DynamoDB backend: a table handed to
    `deepcopy` comes back as itself, so moto's own whole-table backup costs nothing and its
    rollback (putting the "copy" back) changes nothing. `rolled_back_on_failure` below
    restores what a failed transaction wrote instead."""

    def __getattr__(self, name):
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value, memo=None):
        if isinstance(value, Table):
            return value
        return copy.deepcopy(value, memo)


def _touched_key(backend, entry):
    """The table and key of one transaction item, or None when moto will reject it anyway."""
    try:
        _, operation = next(iter(entry.items()))
        table = backend.tables[operation["TableName"]]
        key = operation["Item"] if "Item" in operation else operation["Key"]
        hash_value = DynamoType(key[table.hash_key_attr])
        range_value = None
        if table.range_key_attr is not None:
            range_value = DynamoType(key[table.range_key_attr])
        return table, hash_value, range_value
    except (KeyError, StopIteration, TypeError, AttributeError):
        return None


def _restore(table, hash_value, range_value, saved):
    """Puts one item back as it was, or removes it if it did not exist."""
    if saved is None:
        table.delete_item(hash_value, range_value)
    elif range_value is None:
        table.items[hash_value] = saved
    else:
        table.items[hash_value][range_value] = saved


def rolled_back_on_failure(transact_write_items):
    def transact(backend, transact_items, *args, **kwargs):
        touched = [_touched_key(backend, entry) for entry in transact_items]
        saved = [
            (key, copy.deepcopy(key[0].get_item(key[1], key[2])))
            for key in touched
            if key is not None
        ]
        try:
            return transact_write_items(backend, transact_items, *args, **kwargs)
        except Exception:
            for (table, hash_value, range_value), item in reversed(saved):
                _restore(table, hash_value, range_value, item)
            raise

    return transact


def _unsorted_items(table):
    if table.range_key_attr is None:
        return list(table.items.values())
    return [item for partition in table.items.values() for item in partition.values()]


def _partition_items(table, hash_key):
    partition = table.items.get(hash_key)
    if partition is None:
        return []
    if table.range_key_attr is None:
        return [partition]
    return list(partition.values())


def queried_without_sorting_the_table(query):
    """`Table.query` reads its candidates from `all_items()`; for the length of one query
    that method is replaced by a cheaper one returning the same candidates, unsorted."""

    def query_candidates(table, *args, **kwargs):
        hash_key = args[0] if args else kwargs.get("hash_key")
        index_name = args[7] if len(args) > 7 else kwargs.get("index_name")
        if index_name or hash_key is None:
            candidates = _unsorted_items(table)
        else:
            candidates = _partition_items(table, hash_key)

        table.all_items = lambda: candidates
        try:
            return query(table, *args, **kwargs)
        finally:
            del table.all_items

    return query_candidates


dynamodb_models.copy = _TablesAreNotCopied()
Table.query = queried_without_sorting_the_table(Table.query)
DynamoDBBackend.transact_write_items = rolled_back_on_failure(
    DynamoDBBackend.transact_write_items
)


class InArrivalOrder:
    """A lock that lets waiting threads in first come, first served (a plain
    `threading.Lock` may let one request wait behind later ones without end)."""

    def __init__(self):
        self._changed = threading.Condition()
        self._next_ticket = 0
        self._serving = 0

    def __enter__(self):
        with self._changed:
            ticket = self._next_ticket
            self._next_ticket += 1
            self._changed.wait_for(lambda: self._serving == ticket)

    def __exit__(self, *exc):
        with self._changed:
            self._serving += 1
            self._changed.notify_all()


def main():
    port = int(sys.argv[1])
    os.environ.setdefault("MOTO_PORT", str(port))
    app = DomainDispatcherApplication(create_backend_app)
    turns = InArrivalOrder()

    def one_at_a_time(environ, start_response):
        with turns:
            return list(app(environ, start_response))

    run_simple(
        "127.0.0.1",
        port,
        one_at_a_time,
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
