# Compares two pipeline runs' published tables (the table each /tmp/rx/out-<run>/vol/_SUCCESS.json names; RX
# overrides /tmp/rx): pages in common, orientation and transform differences, |Δskew| median and max. One JSON line.
import json, os, statistics, sys
import pyarrow.parquet as pq
R = os.environ.get('RX', '/tmp/rx')
def load(n):
    base = f'{R}/out-{n}'
    if not os.path.exists(f'{base}/vol/_SUCCESS.json'): return {}
    table = json.load(open(f'{base}/vol/_SUCCESS.json'))['parquet']['key']
    return {r['key']: r for r in pq.read_table(f'{base}/{table}').to_pylist()}
a, b = load(sys.argv[1]), load(sys.argv[2])
keys = sorted(set(a) & set(b))
ori = sum(1 for k in keys if a[k]['orientation_deg'] != b[k]['orientation_deg'])
tr = sum(1 for k in keys if a[k]['transform'] != b[k]['transform'])
d = [abs((a[k]['skew_deg'] or 0) - (b[k]['skew_deg'] or 0)) for k in keys]
print(json.dumps({'compare': sys.argv[1:], 'common': len(keys), 'orientationDiffer': ori, 'transformDiffer': tr,
                  'skewAbsDiffMedian': round(statistics.median(d), 4) if d else None, 'skewAbsDiffMax': round(max(d), 4) if d else None}))
