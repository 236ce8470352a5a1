"""The local stack's function logs name the function that ran, though every function shares one process."""

from __future__ import annotations

import io
import json
import logging
import threading

from aws_lambda_powertools import Logger

from seatkeeper_local.stack.console import dress_function_logs, invoking
from seatkeeper_local.stack.functions import LambdaContext


def test_a_record_names_the_function_running_in_its_thread_not_the_one_that_set_powertools_keys_last():
    # Given a Powertools Logger shared by two functions (one service), as in the local stack's one process
    out = io.StringIO()
    logger = Logger(service="seatkeeper-log-test", logger_handler=logging.StreamHandler(out))
    dress_function_logs("json")
    sync, api = LambdaContext("SyncFunction", 900), LambdaContext("ApiFunction", 30)
    sync_running, api_done = threading.Event(), threading.Event()

    def sync_invocation():
        with invoking(sync, {}):
            logger.append_keys(function_name=sync.function_name)
            sync_running.set()
            api_done.wait(10)  # meanwhile the API function runs and sets its own keys
            logger.warning("page fetched")

    worker = threading.Thread(target=sync_invocation)
    worker.start()
    sync_running.wait(10)
    # When the API function runs in between, in another thread
    with invoking(api, {"requestContext": {"requestId": "req-1"}}):
        logger.append_keys(function_name=api.function_name)
        logger.warning("profile listed")
    api_done.set()
    worker.join(10)
    # Then each record carries the name and request id of its own invocation
    records = {r["message"]: r for r in map(json.loads, out.getvalue().splitlines())}
    assert records["page fetched"]["function_name"] == "SyncFunction"
    assert records["page fetched"]["function_request_id"] == sync.aws_request_id
    assert "correlation_id" not in records["page fetched"]
    assert records["profile listed"]["function_name"] == "ApiFunction"
    assert records["profile listed"]["correlation_id"] == "req-1"
