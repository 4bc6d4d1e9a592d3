"""Reference harness: signs the `sign` example's JSON-line inputs with the official
Python SDK v2 signer (pip install alibabacloud-oss-v2==1.4.1) and prints the same output
fields, for differential checks:

    python3 py2_harness.py < inputs.jsonl > expected.jsonl
    cargo run -q -p oss-auth --example sign < inputs.jsonl > actual.jsonl

Not run by CI (needs PyPI); py2_differential.json holds outputs it produced.
"""
import sys, json, datetime
from urllib.parse import quote, urlsplit, unquote
import alibabacloud_oss_v2 as oss
from alibabacloud_oss_v2.signer import SignerV4, SignerV1
from alibabacloud_oss_v2.types import HttpRequest, SigningContext, Credentials

def run(inp):
    q = inp.get('query') or []
    qs = '&'.join(quote(n, safe='') + '=' + quote(v or '', safe='') for n, v in q)
    url = 'http://host/' + quote(inp.get('key') or '', safe='/')
    if qs:
        url += '?' + qs
    req = HttpRequest(inp['method'], url)
    for n, v in inp.get('headers') or []:
        req.headers[n] = v
    cred = Credentials(inp['access_key_id'], inp['access_key_secret'], inp.get('security_token'))
    ctx = SigningContext(product=inp.get('product') or 'oss', region=inp.get('region'), bucket=inp.get('bucket'),
                         key=inp.get('key'), request=req, credentials=cred,
                         additional_headers=inp.get('additional_headers'))
    if inp.get('signing_time_unix') is not None:
        ctx.signing_time = datetime.datetime.fromtimestamp(inp['signing_time_unix'], datetime.timezone.utc)
    if inp.get('extra_subresources'):
        ctx.sub_resource = inp['extra_subresources']
    mode = inp['mode']
    if mode == 'query':
        ctx.auth_method_query = True
        ctx.expiration_time = datetime.datetime.fromtimestamp(inp['expiration_unix'], datetime.timezone.utc)
    signer = SignerV4() if inp['version'] == 'v4' else SignerV1()
    signer.sign(ctx)
    out = {'string_to_sign': ctx.string_to_sign}
    if mode == 'header':
        out['authorization'] = req.headers['Authorization']
        out['signature'] = out['authorization'].rsplit('Signature=', 1)[-1] if inp['version'] == 'v4' else out['authorization'].rsplit(':', 1)[-1]
    else:
        query = urlsplit(req.url).query
        pairs = [p.partition('=') for p in query.split('&')]
        pairs = [(unquote(k), unquote(v)) for k, _, v in pairs]
        orig = len(q)
        added = pairs[orig:]
        out['added_query'] = [list(p) for p in added]
        out['signature'] = added[-1][1]
    return out

for line in sys.stdin:
    try:
        print(json.dumps(run(json.loads(line)), ensure_ascii=False))
    except Exception as e:
        print(json.dumps({'error': repr(e)}))
