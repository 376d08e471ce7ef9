#!/usr/bin/env bash
# E2E: email-username pool → backup → restore into a fresh email pool (both paths) → compare with the AWS CLI by email.
set -euo pipefail
cd "${WORKDIR:?set WORKDIR to an empty directory holding a built cogvault}"
rm -rf repo *.state *.subs.* *.ids.json *.jsonl restore-*.json fake.json
export AWS_ACCESS_KEY_ID=fake AWS_SECRET_ACCESS_KEY=fake AWS_DEFAULT_REGION=us-east-1 AWS_PAGER=
./cogvault fake-cognito --listen 127.0.0.1:9330 --users ${USERS:-1500} --groups 12 --username-attributes email --no-quotas --output json > fake.json &
FPID=$!
trap 'kill $FPID' EXIT
for i in $(seq 50); do [ -s fake.json ] && break; sleep 0.2; done
EP=http://127.0.0.1:9330
SRC=$(jq -r .poolId fake.json)
CV="./cogvault --endpoint-url $EP --region us-east-1"
$CV backup --pool "$SRC" --repo ./repo --mfa > backup.txt
dump() { # pool → one JSON line per user keyed by email: attributes (sans sub, identities), status, enabled, groups
  aws --endpoint-url $EP cognito-idp list-users --user-pool-id "$1" --output json | jq -c '.Users[]' | while read -r u; do
    name=$(jq -r .Username <<<"$u")
    groups=$(aws --endpoint-url $EP cognito-idp admin-list-groups-for-user --user-pool-id "$1" --username "$name" --output json | jq -c '[.Groups[].GroupName]|sort')
    jq -c --argjson g "$groups" '{email: ((.Attributes|map(select(.Name=="email"))|.[0].Value) // ("federated:"+.Username)), status: .UserStatus, enabled: .Enabled,
      attrs: (.Attributes|map(select(.Name!="sub" and .Name!="identities"))|map({(.Name): .Value})|add), groups: $g}' <<<"$u"
  done | sort
}
dump "$SRC" > src.jsonl
for via in admin import; do
  extra=()
  [ $via = import ] && extra=(--import-role-arn arn:aws:iam::123456789012:role/import)
  set +e
  $CV restore --repo ./repo latest --create-pool "copy-$via" --via $via "${extra[@]}" --state-file ./$via.state --mapping-file ./$via.subs --id-map-file ./$via.ids.json --output json > restore-$via.json
  echo "restore --via $via: exit $?"
  set -e
  DST=$(jq -r .createPool.newPool restore-$via.json)
  set +e # diff exits 1 when it finds differences: here, the users the report lists
  $CV diff --repo ./repo latest --to "$DST" --match-by email --ignore-attribute sub --output json |
    jq -c '{via: "'$via'", usersRemoved: (.report.usersRemoved|length), usersAdded: (.report.usersAdded|length), usersChanged: (.report.usersChanged|length), membershipsAdded: (.report.membershipsAdded|length), membershipsRemoved: (.report.membershipsRemoved|length)}'
  set -e
  dump "$DST" > dst-$via.jsonl
  echo "source users: $(wc -l < src.jsonl), restored: $(wc -l < dst-$via.jsonl)"
done

# The comparison, by email, for each path:
for via in admin import; do
  jq -s --slurpfile d dst-$via.jsonl '
    (map({key: .email, value: .}) | from_entries) as $s
    | ($d | map({key: .email, value: .}) | from_entries) as $t
    | {
       source: ($s|length), restored: ($t|length),
       missing: [$s|keys[] | select(($t[.]|not)) ],
       extra: [$t|keys[] | select(($s[.]|not))],
       attrsDiffer: [$t|keys[] | select($s[.] and ($s[.].attrs != $t[.].attrs))] | length,
       attrsDifferBeyondImportDefaults: [$t|keys[] as $e | select($s[$e] and ($s[$e].attrs != ($t[$e].attrs | with_entries(select((((.key=="phone_number_verified" or .key=="email_verified") and .value=="false" and ($s[$e].attrs[.key] == null)) | not))))))] | length,
       attrsDifferExamples: [$t|keys[] | select($s[.] and ($s[.].attrs != $t[.].attrs)) | {email: ., src: ($s[.].attrs), dst: ($t[.].attrs)}][:2],
       enabledDiffer: [$t|keys[] | select($s[.] and ($s[.].enabled != $t[.].enabled))] | length,
       groupsDiffer: [$t|keys[] | select($s[.] and ($s[.].groups != $t[.].groups))] | length,
       statusPairs: ([$t|keys[] | select($s[.]) | "\($s[.].status) -> \($t[.].status)"] | group_by(.) | map({(.[0]): length}) | add)
      }' src.jsonl
done
