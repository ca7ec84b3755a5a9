# SPDX-License-Identifier: Apache-2.0
"""The JSON bridge (json.c) against the json module: every answer of a
Client is decoded by the module's own parser, which must give what
json.loads gives (values, key order, and the same exception for what it
does not take), and requests are written by its own encoder, which
json.loads must read back as the value sent."""
import json
import math
import random

import pytest

import libkube


def same(a, b):
    """Equal, with the same types all the way down (1 is not 1.0 here)."""
    todo = [(a, b)]
    while todo:
        a, b = todo.pop()
        if type(a) is not type(b):
            return False
        if isinstance(a, dict):
            if list(a) != list(b):
                return False
            todo.extend((a[k], b[k]) for k in a)
        elif isinstance(a, list):
            if len(a) != len(b):
                return False
            todo.extend(zip(a, b))
        elif not (a == b or (isinstance(a, float) and math.isnan(a)
                             and math.isnan(b))):
            return False
    return True


def outcome(fn, data):
    try:
        return ("value", fn(data))
    except Exception as e:  # the exception itself is compared
        return ("error", type(e), str(e))


def check(data):
    want = outcome(lambda d: json.loads(d.decode("utf-8")), data)
    got = outcome(libkube._json_loads, data)
    assert want[0] == got[0], (data, want, got)
    if want[0] == "value":
        assert same(want[1], got[1]), (data, want, got)
    else:
        assert want[1:] == got[1:], data


CASES = [
    b'{}', b'[]', b'{"a":1}', b' {"a" : [1, 2.5, -3e10, true, false, null]} ',
    b'"\\u00e9\\ud83d\\ude00"', b'"a\\nb\\t\\"\\\\\\/\\b\\f\\r"',
    b'"\xc3\xa9\xe2\x82\xac"', b'{"k\\u0041":2,"kA":3}', b'{"a":1,"a":2}',
    b'123456789012345678901234567890', b'999999999999999999',
    b'-999999999999999999', b'9999999999999999999', b'-0', b'-0.0',
    b'1.5', b'1E400', b'1e-400', b'1' * 5000,
    ('"' + "x" * 300 + '\\"' + "y" * 300 + '"').encode(),
    b'[' * 400 + b']' * 400,
    # What the bridge leaves to json.loads: its result or its error.
    b'NaN', b'[Infinity]', b'-Infinity', b'"\\ud800"', b'"\\udc00x"',
    b'[' * 2000 + b']' * 2000, b'\xef\xbb\xbf{}', b'"\xff"', b'"\xed\xa0\x80"',
    b'01', b'[1,]', b'{"a":1,}', b'{"a" 1}', b'', b'  ', b'"abc', b'"a\x01b"',
    b'tru', b'nul', b'{"a":1}x', b'-', b'1.', b'1e', b'1e+', b'.5', b'"\\x"',
    b'"\\u12"', b'"\\u12G4"', b'[1 2]', b'{1:2}',
]


@pytest.mark.parametrize("data", CASES, ids=range(len(CASES)))
def test_loads_like_json_module(data):
    check(data)


def test_loads_random_text():
    """Short random strings of JSON tokens, most of them invalid."""
    rnd = random.Random(15)
    tokens = ['{', '}', '[', ']', ',', ':', '"', '\\', 'u', 'a', '0', '1',
              '-', '.', 'e', ' ', 'n', 't', 'true', 'null', '"k"', '\u00e9',
              '\\u00e9', '\\ud800', '\\udc00', 'NaN']
    for _ in range(20000):
        check("".join(rnd.choice(tokens)
                      for _ in range(rnd.randint(0, 12))).encode())


def random_value(rnd, depth=0):
    c = rnd.random()
    if depth > 4 or c < 0.3:
        return rnd.choice([
            None, True, False, rnd.randint(-10 ** 20, 10 ** 20),
            rnd.random() * 10 ** rnd.randint(-300, 300),
            "".join(chr(rnd.choice([rnd.randint(0, 127),
                                    rnd.randint(128, 0xd7ff),
                                    rnd.randint(0xe000, 0x10ffff)]))
                    for _ in range(rnd.randint(0, 8)))])
    if c < 0.65:
        return [random_value(rnd, depth + 1) for _ in range(rnd.randint(0, 5))]
    return {"".join(rnd.choice('ab\u00e9"\\\n') for _ in range(rnd.randint(0, 4))):
            random_value(rnd, depth + 1) for _ in range(rnd.randint(0, 5))}


def test_round_trip_random_values():
    rnd = random.Random(16)
    for _ in range(1000):
        v = random_value(rnd)
        check(json.dumps(v, ensure_ascii=rnd.random() < 0.5).encode())
        assert same(json.loads(libkube._json_dumps(v)), v)


def test_answers_decode_like_json_module(server):
    """A real answer, with text that needs escapes, through the client."""
    c = server.client()
    data = {"quote": 'a"b', "nl": "x\ny", "u": "\u00e9\u20ac\U0001f600",
            "ctl": "\x01\x1f", "slash": "a/b\\c"}
    made = c.create({"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": "json-bridge",
                                  "namespace": "default"},
                     "data": data})
    assert made["data"] == data
    got = c.get("v1", "ConfigMap", "json-bridge", namespace="default")
    assert got["data"] == data
    assert isinstance(got["metadata"]["managedFields"], list)
