"""Init container of the BERT Triton pods: wait for the compiled model, then assemble the Triton model
repository (config.pbtxt, 1/model.py, 1/model-b<N>.pt) on the shared volume.

While the model's manifest is missing it says, every POLL_SECONDS, what it waits for and where; it never
gives up (the pod stays in Init and `pulumi up` is not held). A model that exists but does not match
what the server was configured for is an error (exit 1): waiting would never fix it.
"""

import json
import os
import shutil
import time

from botocore.exceptions import ClientError

from common import Settings, fail, log, manifest_problems, s3_client, sha256_of, traced_file

HERE = os.path.dirname(os.path.abspath(__file__))


def missing(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound")


def wait_for_manifest(s3, settings: Settings, waiting_for: str, poll: float) -> dict:
    started = time.monotonic()
    while True:
        try:
            body = s3.get_object(Bucket=settings.bucket, Key=settings.manifest_key)["Body"].read()
            break
        except ClientError as error:
            waited = int(time.monotonic() - started)
            if missing(error):
                log(f"waiting for the model s3://{settings.bucket}/{settings.manifest_key} (from {waiting_for}); "
                    f"waited {waited} s, next check in {poll:g} s")
            else:
                code = error.response.get("Error", {}).get("Code")
                log(f"cannot read s3://{settings.bucket}/{settings.manifest_key}: {code} "
                    f"(check the bert-serving Pod Identity role); waited {waited} s, retrying in {poll:g} s")
        time.sleep(poll)
    try:
        return json.loads(body)
    except ValueError:
        fail(f"s3://{settings.bucket}/{settings.manifest_key} is not valid JSON")


def main() -> None:
    settings = Settings()
    name = os.environ.get("MODEL_NAME", "bert")
    repository = os.environ.get("MODEL_REPOSITORY", "/models")
    config = os.environ.get("MODEL_CONFIG", "/etc/bert/config.pbtxt")
    waiting_for = os.environ.get("WAITING_FOR", "the compile Job")
    poll = float(os.environ.get("POLL_SECONDS", "30"))
    s3 = s3_client()

    manifest = wait_for_manifest(s3, settings, waiting_for, poll)
    problems = manifest_problems(manifest, settings)
    if problems:
        fail(f"the model at {settings.location} does not match this server: " + "; ".join(problems))

    version_dir = os.path.join(repository, name, "1")
    os.makedirs(version_dir, exist_ok=True)
    for size in settings.batch_sizes:
        file = traced_file(size)
        target = os.path.join(version_dir, file)
        log(f"downloading {settings.location}{file}")
        s3.download_file(settings.bucket, f"{settings.prefix}{file}", target)
        expected = manifest["files"][file]["sha256"]
        actual = sha256_of(target)
        if actual != expected:
            fail(f"{settings.location}{file} has sha256 {actual}, the manifest says {expected}")
    shutil.copyfile(os.path.join(HERE, "model.py"), os.path.join(version_dir, "model.py"))
    shutil.copyfile(config, os.path.join(repository, name, "config.pbtxt"))
    with open(os.path.join(version_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f)
    log(f"model {name} ready in {os.path.join(repository, name)} ({manifest.get('modelId', 'unknown model')}, "
        f"batch sizes {settings.batch_sizes}, sequence length {settings.sequence_length}, {settings.target})")


if __name__ == "__main__":
    main()
