#!/usr/bin/env python3
"""Validates an attention document (attend viz's attention.json) against docs/attention.schema.json,
then checks what a JSON Schema cannot say: the weights' sizes match heads x rows x cols, each
row sums to 1, and the token lists match the axes of each kind."""
import json
import sys

import jsonschema


def main(schema_path, document_path):
    with open(schema_path) as f:
        schema = json.load(f)
    with open(document_path) as f:
        document = json.load(f)
    jsonschema.validate(document, schema)
    sizes = {"source": len(document["source_tokens"]), "target": len(document["target_tokens"])}
    axes = {"encoder_self": ("source", "source"), "decoder_self": ("target", "target"), "cross": ("target", "source")}
    for a in document["attentions"]:
        where = a["name"]
        assert len(a["weights"]) == a["heads"], f"{where}: {len(a['weights'])} heads, expected {a['heads']}"
        for h, matrix in enumerate(a["weights"]):
            assert len(matrix) == a["rows"], f"{where} head {h}: {len(matrix)} rows, expected {a['rows']}"
            for i, row in enumerate(matrix):
                assert len(row) == a["cols"], f"{where} head {h} row {i}: {len(row)} columns, expected {a['cols']}"
                assert abs(sum(row) - 1) < 1e-4, f"{where} head {h} row {i} sums to {sum(row)}"
        if a["kind"] in axes:
            rows, cols = axes[a["kind"]]
            assert a["rows"] == sizes[rows], f"{where}: {a['rows']} rows but {sizes[rows]} {rows} tokens"
            assert a["cols"] == sizes[cols], f"{where}: {a['cols']} columns but {sizes[cols]} {cols} tokens"
    kinds = sorted({a["kind"] for a in document["attentions"]})
    print(f"valid: {len(document['attentions'])} attentions ({', '.join(kinds)})")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
