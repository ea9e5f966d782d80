"""Writes organisations.xls, the real BIFF8 (.xls) workbook test_engine.py reads.

Needs xlwt, which is not a dependency of the project: `pip install --target /tmp/xlwt xlwt`,
then `PYTHONPATH=/tmp/xlwt python tests/data/make_xls.py`.
"""

import os

import xlwt

ROWS = [
    ["org_label", "org_extid", "parent_extid", "org_budget"],
    ["Acme Group", "ACME", "", 1200.5],
    [],
    ["Acme Europe Hélène", " ACME-EU ", "ACME", 75001],
]

book = xlwt.Workbook(encoding="utf-8")
sheet = book.add_sheet("Organisations")
for i, row in enumerate(ROWS):
    for j, v in enumerate(row):
        sheet.write(i, j, v)
book.save(os.path.join(os.path.dirname(os.path.abspath(__file__)), "organisations.xls"))
