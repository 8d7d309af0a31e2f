"""The S3 mirror, independent of where credentials come from (the runner passes them in).

- `session`: boto3 sessions and S3 clients from given credentials (`AwsCredentials` protocol).
- `bucket`: `Mirror`, every S3 request (list, index, upload with checksum confirmation,
  download, delete, bucket checks), counted by method; `errors` turns failures into NetsecErrors.
- `index`: local files with sha256 (trusting stage manifests) and the remote `.netsec-index.json`.
- `plan`: what differs (push plan, pull plan); `push` and `pull` carry the plans out.
- `paths`: the one check that a pulled key or manifest path stays inside its local folder.

Imported lazily by the commands that sync, so `netsec --help` never loads boto3.
"""
