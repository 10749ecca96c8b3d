#!/usr/bin/python3
"""Reads Prometheus text exposition on stdin with the reference Python parser
(Debian's python3-prometheus-client) and prints every sample as JSON. Any syntax error
makes the parser raise: exit code 1 and the error on stderr."""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

samples = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        samples.append({"family": family.name, "type": family.type, "name": s.name, "labels": s.labels, "value": s.value})
json.dump(samples, sys.stdout)
