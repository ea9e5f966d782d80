"""The one rule for empty cells (update_info_if_present) and the one comparison of values."""

from registrar.bulk.diff import differences, incoming, keeps

FIELDS = {"user_first_name": "first_name", "user_budget": "budget"}
EMPTY = {"budget": None}


def test_an_empty_cell_empties_the_field_without_update_info_if_present():
    values = {"user_first_name": None, "user_budget": None}
    present = {"user_first_name", "user_budget"}
    assert incoming(values, FIELDS, present, False, EMPTY) == {"first_name": "", "budget": None}


def test_an_empty_cell_keeps_the_stored_value_with_update_info_if_present():
    values = {"user_first_name": None, "user_budget": 12}
    present = {"user_first_name", "user_budget"}
    assert incoming(values, FIELDS, present, True, EMPTY) == {"budget": 12}
    assert keeps("user_first_name", values, present, True)
    assert not keeps("user_budget", values, present, True)


def test_a_column_the_file_lacks_is_left_as_it_is():
    values = {"user_first_name": "Ada", "user_budget": None}
    assert incoming(values, FIELDS, {"user_first_name"}, False, EMPTY) == {"first_name": "Ada"}
    assert keeps("user_budget", values, {"user_first_name"}, False)


def test_differences_are_the_wanted_values_that_differ():
    assert differences({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": None}) == {"b": 3}
