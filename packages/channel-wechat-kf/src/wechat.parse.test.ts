import { fixtureBytes, fixtureJson } from '@switchboard/testkit';
import { extractEncrypt, parseCallback, parseFlatXml } from './wechat.parse.js';

describe('wechat callback XML', () => {
  it('parses the decrypted kf_msg_or_event fixture', () => {
    const r = parseCallback(fixtureBytes('wechat-kf', 'kf-callback-decrypted.xml').toString('utf8'));
    expect(r).toEqual({
      ok: true,
      callback: {
        kind: 'kf_msg_or_event',
        toUserName: 'ww7c3e9a1f5b2d4e60',
        createTime: 1767225601,
        token: 'ENCBq4Jt8WnYv2LrKc6XdPz9HsMe3TfGaU1oVbQ7iRkZyNx',
        openKfId: 'wkq8ZmDgAA7XbR2sVtLp0e1YcN4uKw9H',
      },
    });
  });

  it('extracts Encrypt from the encrypted fixture body', () => {
    const ex = fixtureJson<{ post: { body: string; encrypt: string } }>('wechat-kf', 'encrypted-callback-example.json');
    expect(extractEncrypt(ex.post.body)).toEqual({ ok: true, encrypt: ex.post.encrypt });
  });

  it('a kf notice without Token or OpenKfId (old v1 callbacks) still parses', () => {
    const r = parseCallback('<xml><ToUserName>ww1</ToUserName><CreateTime>1</CreateTime><MsgType>event</MsgType><Event>kf_msg_or_event</Event></xml>');
    expect(r).toEqual({ ok: true, callback: { kind: 'kf_msg_or_event', toUserName: 'ww1', createTime: 1 } });
  });

  it('non-kf callbacks (enter_agent, app text messages) become `other`, not errors', () => {
    expect(parseCallback('<xml><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[enter_agent]]></Event><CreateTime>5</CreateTime></xml>')).toEqual({
      ok: true,
      callback: { kind: 'other', msgType: 'event', event: 'enter_agent', createTime: 5 },
    });
    expect(parseCallback('<xml><MsgType>text</MsgType><Content>hello</Content></xml>')).toEqual({ ok: true, callback: { kind: 'other', msgType: 'text' } });
    expect(parseCallback('<xml></xml>')).toMatchObject({ ok: false });
  });

  it('refuses DOCTYPE / entity declarations (no entity expansion, no XXE)', () => {
    const bomb = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "AAAA"><!ENTITY b "&a;&a;&a;&a;">]><xml><Encrypt>&b;</Encrypt></xml>';
    expect(parseFlatXml(bomb)).toEqual({ ok: false, reason: 'doctype not allowed' });
    const xxe = '<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><Encrypt>&x;</Encrypt></xml>';
    expect(extractEncrypt(xxe).ok).toBe(false);
  });

  it('does not expand predefined entities either: text stays as sent', () => {
    expect(parseFlatXml('<xml><T>a &amp; b</T><C><![CDATA[<b>&amp;</b>]]></C></xml>')).toEqual({ ok: true, fields: { T: 'a &amp; b', C: '<b>&amp;</b>' } });
  });

  it('malformed XML is refused with a reason, never thrown', () => {
    for (const bad of ['', 'not xml', '<xml><Encrypt>abc</Encrypt', '<xml><Encrypt>x</Encrypt></xml><xml/>', '{"json":true}', '<root><Encrypt>x</Encrypt></root>']) {
      const r = extractEncrypt(bad);
      expect(r.ok).toBe(false);
    }
    expect(extractEncrypt('<xml><ToUserName>ww</ToUserName></xml>')).toEqual({ ok: false, reason: 'missing <Encrypt>' });
  });

  it('repeated elements keep the first value', () => {
    expect(parseFlatXml('<xml><A>1</A><A>2</A></xml>')).toEqual({ ok: true, fields: { A: '1' } });
  });
});
