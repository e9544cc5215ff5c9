"""The organization's accounts from an export directory: `organizations/list-accounts.json`, and each account's
tags from `organizations/list-tags-for-resource.<account_id>.json`.

The files are exactly what `aws organizations list-accounts --output json` and `aws organizations
list-tags-for-resource --resource-id <account_id> --output json` print (docs/export-layout.md). An account's
tags are added to its ListAccounts entry as "Tags", the way the live listing (lib/aws/org.list_accounts) adds them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dagster_project.lib.warehouse.storable import nul_path, nul_reason

ACCOUNTS_FILE = Path("organizations") / "list-accounts.json"
TAGS_FILE = "list-tags-for-resource.{account_id}.json"  # beside ACCOUNTS_FILE, one per account


@dataclass(frozen=True)
class Reject:
    object_ref: str
    reason: str
    payload: str | None = None

    def row(self) -> tuple[str, str, str | None]:
        """As loader.quarantine takes it."""
        return self.object_ref, self.reason, self.payload


def organization_id_from_arn(arn: str | None) -> str | None:
    """arn:aws:organizations::111:account/o-abc123/222 -> o-abc123."""
    if not arn or "/" not in arn:
        return None
    parts = arn.split("/")
    return parts[1] if len(parts) >= 3 and parts[1].startswith("o-") else None


def parse_accounts(document: Any, ref: str) -> tuple[list[dict], list[Reject]]:
    """Validate a ListAccounts response; each bad entry is rejected by itself, the rest kept."""
    if not isinstance(document, dict) or not isinstance(document.get("Accounts"), list):
        return [], [Reject(ref, "expected a JSON object with an 'Accounts' list (aws organizations list-accounts)",
                           json.dumps(document)[:2000] if document is not None else None)]
    accounts, rejects = [], []
    for i, entry in enumerate(document["Accounts"]):
        account_id = entry.get("Id") if isinstance(entry, dict) else None
        if not (isinstance(account_id, str) and account_id.isdigit() and len(account_id) == 12):
            rejects.append(Reject(f"{ref}#Accounts[{i}]", "account 'Id' must be a 12-digit string", json.dumps(entry)))
            continue
        where = nul_path(entry)
        if where:
            rejects.append(Reject(f"{ref}#Accounts[{i}]", nul_reason(where), json.dumps(entry)))
            continue
        accounts.append(entry)
    return accounts, rejects


def read_accounts_export(export_dir: Path) -> tuple[list[dict], list[Reject]]:
    path = export_dir / ACCOUNTS_FILE
    if not path.exists():
        return [], [Reject(str(path), "file not found: an export directory needs organizations/list-accounts.json")]
    try:
        document = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return [], [Reject(str(path), f"not valid JSON: {exc}", path.read_bytes()[:2000].decode("utf-8", "replace"))]
    accounts, rejects = parse_accounts(document, str(path))
    return add_account_tags(accounts, path.parent, rejects), rejects


def merge_listings(*listings: list[dict]) -> list[dict]:
    """One entry per account id, in id order; a later listing's entry wins (the live Organizations listing over
    an export's)."""
    merged: dict[str, dict] = {}
    for listing in listings:
        merged.update((account["Id"], account) for account in listing)
    return [merged[k] for k in sorted(merged)]


def add_account_tags(accounts: list[dict], folder: Path, rejects: list[Reject]) -> list[dict]:
    """Each account with "Tags" from its list-tags-for-resource file in `folder`; an account without that file
    has no "Tags" (not exported, not "untagged"), and a bad file is rejected while its account is kept."""
    tagged = []
    for account in accounts:
        path = folder / TAGS_FILE.format(account_id=account["Id"])
        if not path.is_file():
            tagged.append(account)
            continue
        try:
            document = json.loads(path.read_bytes())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            rejects.append(Reject(str(path), f"not valid JSON: {exc}",
                                  path.read_bytes()[:2000].decode("utf-8", "replace")))
            tagged.append(account)
            continue
        found = document.get("Tags") if isinstance(document, dict) else None
        if not (isinstance(found, list) and all(isinstance(t, dict) and isinstance(t.get("Key"), str)
                                                for t in found)):
            rejects.append(Reject(str(path), "expected a JSON object with a 'Tags' list of {Key, Value} "
                                             "(aws organizations list-tags-for-resource)", json.dumps(document)[:2000]))
            tagged.append(account)
            continue
        if nul_path(found):
            rejects.append(Reject(str(path), nul_reason(nul_path(found)), json.dumps(document)[:2000]))
            tagged.append(account)
            continue
        tagged.append({**account, "Tags": found})
    return tagged
