"""GuardDuty: the detector of the region (status, features, data sources) and its suppression filters."""

from collections.abc import Iterator

import boto3

from dagster_project.lib.aws.clients import client, paginate, record

SERVICE = "guardduty"


def collect(session: boto3.Session, region: str) -> Iterator[dict]:
    gd = client(session, "guardduty", region)
    for detector_id in paginate(gd, "list_detectors", "DetectorIds"):
        detector = {**gd.get_detector(DetectorId=detector_id), "DetectorId": detector_id}
        filters = [{**gd.get_filter(DetectorId=detector_id, FilterName=name), "Name": name}
                   for name in paginate(gd, "list_filters", "FilterNames", DetectorId=detector_id)]
        # A detector id is unique within account + region (get_detector returns no ARN).
        yield record(SERVICE, "guardduty_detector", detector_id, detector_id, region, detector,
                     {"suppression_filters": filters})
