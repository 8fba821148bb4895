import { AddressRefusal, classifyAddress, isIpLiteral } from './fetch.address';

/** The hostname a URL really names: the WHATWG parser normalizes every IPv4 spelling first. */
const host = (url: string) => new URL(url).hostname;

describe('classifyAddress', () => {
  it.each([
    ['127.0.0.1', AddressRefusal.loopback],
    ['127.255.255.254', AddressRefusal.loopback],
    ['::1', AddressRefusal.loopback],
    ['[::1]', AddressRefusal.loopback],
    ['10.0.0.1', AddressRefusal.private],
    ['172.16.5.4', AddressRefusal.private],
    ['192.168.1.1', AddressRefusal.private],
    ['fc00::1', AddressRefusal.private],
    ['fd12:3456::1', AddressRefusal.private],
    ['fec0::1', AddressRefusal.private],
    ['169.254.169.254', AddressRefusal.linkLocal],
    ['fe80::1', AddressRefusal.linkLocal],
    ['fe80::1%eth0', AddressRefusal.linkLocal],
    ['100.64.0.1', AddressRefusal.cgnat],
    ['100.127.255.254', AddressRefusal.cgnat],
    ['224.0.0.1', AddressRefusal.multicast],
    ['239.255.255.250', AddressRefusal.multicast],
    ['ff02::1', AddressRefusal.multicast],
    ['0.0.0.0', AddressRefusal.unspecified],
    ['0.1.2.3', AddressRefusal.unspecified],
    ['::', AddressRefusal.unspecified],
    ['255.255.255.255', AddressRefusal.broadcast],
    ['192.0.2.1', AddressRefusal.reserved],
    ['198.18.0.1', AddressRefusal.reserved],
    ['240.0.0.1', AddressRefusal.reserved],
    ['2001:db8::1', AddressRefusal.reserved],
    ['100::1', AddressRefusal.reserved],
    ['::7f00:1', AddressRefusal.reserved],
    // IPv4 inside IPv6: the embedded address decides the reason when it is special
    ['::ffff:127.0.0.1', AddressRefusal.loopback],
    ['::ffff:7f00:1', AddressRefusal.loopback],
    ['::ffff:169.254.169.254', AddressRefusal.linkLocal],
    ['::ffff:10.0.0.1', AddressRefusal.private],
    ['::ffff:8.8.8.8', AddressRefusal.ipv4Embedded],
    ['64:ff9b::7f00:1', AddressRefusal.loopback],
    ['64:ff9b::808:808', AddressRefusal.ipv4Embedded],
    ['2002:7f00:1::1', AddressRefusal.loopback],
    ['2002:a9fe:a9fe::1', AddressRefusal.linkLocal],
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', AddressRefusal.loopback],
    ['not-an-ip', AddressRefusal.invalid],
  ])('%s is refused as %s', (address, reason) => {
    const v = classifyAddress(address);
    expect(v.public).toBe(false);
    expect(!v.public && v.reason).toBe(reason);
  });

  it.each(['8.8.8.8', '1.1.1.1', '93.184.215.14', '157.240.1.1', '2a03:2880:f10c:83:face:b00c:0:25de', '2606:4700:4700::1111'])('%s is public', (address) => {
    expect(classifyAddress(address)).toEqual({ public: true, address: expect.any(String) });
  });

  it.each([
    ['http://127.1/', AddressRefusal.loopback],
    ['http://2130706433/', AddressRefusal.loopback],
    ['http://0x7f.1/', AddressRefusal.loopback],
    ['http://0x7f000001/', AddressRefusal.loopback],
    ['http://0177.0.0.1/', AddressRefusal.loopback],
    ['http://[::1]/', AddressRefusal.loopback],
    ['http://[::ffff:127.0.0.1]/', AddressRefusal.loopback],
    ['http://[0:0:0:0:0:ffff:7f00:1]/', AddressRefusal.loopback],
    ['http://0/', AddressRefusal.unspecified],
    ['http://0.0.0.0/', AddressRefusal.unspecified],
    ['http://[::]/', AddressRefusal.unspecified],
    ['http://169.254.169.254/latest/meta-data/', AddressRefusal.linkLocal],
    ['http://0xa9.0xfe.0xa9.0xfe/', AddressRefusal.linkLocal],
    ['http://2852039166/', AddressRefusal.linkLocal],
    ['http://[fe80::a9fe:a9fe]/', AddressRefusal.linkLocal],
    ['http://100.100.100.200/', AddressRefusal.cgnat],
    ['http://10.1/', AddressRefusal.private],
  ])('the URL %s names a literal that is refused as %s', (url, reason) => {
    const h = host(url);
    expect(isIpLiteral(h)).toBe(true);
    const v = classifyAddress(h);
    expect(!v.public && v.reason).toBe(reason);
  });

  it('tells names from literals', () => {
    expect(isIpLiteral('example.com')).toBe(false);
    expect(isIpLiteral('localhost')).toBe(false);
    expect(isIpLiteral('[::1]')).toBe(true);
    expect(isIpLiteral('127.0.0.1')).toBe(true);
  });
});
