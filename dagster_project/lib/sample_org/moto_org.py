"""placeholder"""


def populate_moto(endpoint_url, accounts, detections_per_account, seed=7):
    raise NotImplementedError
