import { withoutNodeSeries } from './node-series.filter';

const EXPOSITION = [
  '# HELP pbxpulse_ami_up Whether the AMI session to the node is logged in (1) or not (0).',
  '# TYPE pbxpulse_ami_up gauge',
  'pbxpulse_ami_up{node="pbx1"} 1',
  'pbxpulse_ami_up{node="pbx2"} 0',
  '',
  '# HELP pbxpulse_reloads_total Reloads.',
  '# TYPE pbxpulse_reloads_total counter',
  'pbxpulse_reloads_total{module="res_pjsip.so",node="pbx2",result="ok"} 3',
  'pbxpulse_reloads_total{module="res_pjsip.so",node="<unknown>",result="node_not_found"} 1',
  'pbxpulse_endpoint_auth_failures_total{endpoint="<other>",node="pbx1"} 2',
  'pbxpulse_cluster_nodes_owned 1',
  'pbxpulse_x{other_node="pbx2"} 5',
  '',
].join('\n');

describe('withoutNodeSeries', () => {
  it('drops the samples of the nodes watched elsewhere, keeps the rest byte for byte', () => {
    const out = withoutNodeSeries(EXPOSITION, new Set(['pbx2']));
    expect(out).not.toMatch(/[{,]node="pbx2"/);
    expect(out.split('\n')).toEqual(
      EXPOSITION.split('\n').filter(
        (l) =>
          l !== 'pbxpulse_ami_up{node="pbx2"} 0' &&
          !l.startsWith('pbxpulse_reloads_total{module="res_pjsip.so",node="pbx2"'),
      ),
    );
  });

  it('is the identity when every node is watched here', () => {
    expect(withoutNodeSeries(EXPOSITION, new Set())).toBe(EXPOSITION);
  });
});
