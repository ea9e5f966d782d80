"""Set-based foreign keys on PostgreSQL: a key checked once per INSERT statement instead of once
per row at commit, with the same FOR KEY SHARE lock on the rows it references.

PostgreSQL checks a foreign key with one trigger call per inserted row, queued until commit: for
a bulk import of course records that is half of what the database does. Here a key's native
constraint is replaced by triggers that keep its meaning (docs/decisions.md):

- after each INSERT statement on the child, the distinct referenced ids of the rows it wrote are
  locked FOR KEY SHARE in one statement and counted: fewer than referenced is a
  foreign_key_violation (a parent missing, or deleted meanwhile by another transaction, whose
  delete the lock waits for);
- after an UPDATE that changes the key of a row, that row's parent is checked the same way (an
  update keeping the key costs nothing, as with the native key);
- after each DELETE statement on the parent, a child still referencing a deleted row is a
  foreign_key_violation. A delete waits on the lock of a transaction writing children; once that
  commits, the check sees its rows: a concurrent delete can never leave an orphan, and no delete
  path has to remember to lock anything;
- a parent's id never changes (a row trigger refuses it).

SQLite keeps its native keys: they cost an index probe per row, and its one writer at a time
leaves no race to guard against.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Key:
    """A foreign key: child table and column, parent table (referenced by its id)."""

    child: str
    column: str
    parent: str

    @property
    def name(self) -> str:
        return f"sbk_{self.child}_{self.column}"[:59]  # + a 4-character suffix: 63 at most


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _native_constraints(cursor, key: Key) -> list[str]:
    """The native foreign-key constraints on the key's column."""
    cursor.execute(
        "SELECT c.conname FROM pg_constraint c JOIN pg_attribute a"
        " ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)"
        " WHERE c.contype = 'f' AND c.conrelid = %s::regclass AND a.attname = %s",
        [key.child, key.column],
    )
    return [r[0] for r in cursor.fetchall()]


def install_sql(key: Key) -> list[str]:
    """The statements that put the key's triggers in place (its native constraint dropped
    separately)."""
    n, c, col, p = key.name, _q(key.child), _q(key.column), _q(key.parent)
    missing = _lit(
        f'insert or update on table "{key.child}" violates foreign key "{key.name}": '
        f'a row of "{key.parent}" it references does not exist'
    )
    still = _lit(
        f'delete on table "{key.parent}" violates foreign key "{key.name}": '
        f'rows of "{key.child}" still reference it'
    )
    return [
        # EXECUTE: planned with the statement's real row count (one row from the portal, or
        # 50,000 from an import), not a plan cached from the first call.
        f"""CREATE FUNCTION {_q(n + "_ins")}() RETURNS trigger LANGUAGE plpgsql AS $f$
DECLARE wanted bigint; found bigint;
BEGIN
  EXECUTE 'WITH ids AS (SELECT DISTINCT {col} AS id FROM new_rows WHERE {col} IS NOT NULL),'
    ' locked AS (SELECT p.id FROM {p} p JOIN ids ON p.id = ids.id FOR KEY SHARE OF p)'
    ' SELECT (SELECT count(*) FROM ids), (SELECT count(*) FROM locked)' INTO wanted, found;
  IF found < wanted THEN
    RAISE foreign_key_violation USING MESSAGE = {missing};
  END IF;
  RETURN NULL;
END $f$""",
        f"CREATE TRIGGER {_q(n + '_ins')} AFTER INSERT ON {c} REFERENCING NEW TABLE AS new_rows"
        f" FOR EACH STATEMENT EXECUTE FUNCTION {_q(n + '_ins')}()",
        f"""CREATE FUNCTION {_q(n + "_upd")}() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
  PERFORM 1 FROM {p} WHERE id = NEW.{col} FOR KEY SHARE;
  IF NOT FOUND THEN
    RAISE foreign_key_violation USING MESSAGE = {missing};
  END IF;
  RETURN NULL;
END $f$""",
        f"CREATE TRIGGER {_q(n + '_upd')} AFTER UPDATE OF {col} ON {c} FOR EACH ROW"
        f" WHEN (NEW.{col} IS NOT NULL AND NEW.{col} IS DISTINCT FROM OLD.{col})"
        f" EXECUTE FUNCTION {_q(n + '_upd')}()",
        f"""CREATE FUNCTION {_q(n + "_del")}() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
  IF EXISTS (SELECT 1 FROM {c} c JOIN old_rows o ON c.{col} = o.id) THEN
    RAISE foreign_key_violation USING MESSAGE = {still};
  END IF;
  RETURN NULL;
END $f$""",
        f"CREATE TRIGGER {_q(n + '_del')} AFTER DELETE ON {p} REFERENCING OLD TABLE AS old_rows"
        f" FOR EACH STATEMENT EXECUTE FUNCTION {_q(n + '_del')}()",
        f"""CREATE FUNCTION {_q(n + "_pid")}() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
  RAISE foreign_key_violation USING MESSAGE = {_lit(f'the id of "{key.parent}" rows is fixed')};
END $f$""",
        f"CREATE TRIGGER {_q(n + '_pid')} BEFORE UPDATE OF id ON {p} FOR EACH ROW"
        f" WHEN (NEW.id IS DISTINCT FROM OLD.id) EXECUTE FUNCTION {_q(n + '_pid')}()",
    ]


def uninstall_sql(key: Key) -> list[str]:
    """The statements that remove the key's triggers and put its native constraint back."""
    n = key.name
    out = [
        f"DROP TRIGGER IF EXISTS {_q(n + s)} ON {_q(t)}"
        for s, t in (("_ins", key.child), ("_upd", key.child), ("_del", key.parent))
    ]
    out.append(f"DROP TRIGGER IF EXISTS {_q(n + '_pid')} ON {_q(key.parent)}")
    out += [f"DROP FUNCTION IF EXISTS {_q(n + s)}()" for s in ("_ins", "_upd", "_del", "_pid")]
    out.append(
        f"ALTER TABLE {_q(key.child)} ADD CONSTRAINT {_q(n + '_fk')} FOREIGN KEY"
        f" ({_q(key.column)}) REFERENCES {_q(key.parent)} (id) DEFERRABLE INITIALLY DEFERRED"
    )
    return out


def install(schema_editor, keys: list[Key]) -> None:
    """Replace the keys' native constraints by set-based triggers (PostgreSQL only)."""
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cur:
        for key in keys:
            for name in _native_constraints(cur, key):
                cur.execute(f"ALTER TABLE {_q(key.child)} DROP CONSTRAINT {_q(name)}")
            for sql in install_sql(key):
                cur.execute(sql)


def uninstall(schema_editor, keys: list[Key]) -> None:
    """Back to native constraints (PostgreSQL only)."""
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cur:
        for key in keys:
            for sql in uninstall_sql(key):
                cur.execute(sql)


def keys_of(apps, specs: list[tuple[str, str]]) -> list[Key]:
    """Keys from ("app.Model", "field") pairs, with the tables and columns of `apps`."""
    out = []
    for label, field_name in specs:
        field = apps.get_model(label)._meta.get_field(field_name)
        out.append(
            Key(field.model._meta.db_table, field.column, field.related_model._meta.db_table)
        )
    return out
