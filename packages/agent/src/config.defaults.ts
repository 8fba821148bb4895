/**
 * Built-in texts: used for every field a configuration file leaves out, and as the whole
 * configuration when AGENT_CONFIG is unset. Placeholders: `{business}`, `{name}`.
 */

/** The system prompt when none is configured. */
export const DEFAULT_SYSTEM_PROMPT = [
  'You are the customer-support assistant of {business}, answering customers in a chat.',
  'Be friendly, brief and concrete. Answer only what you know from this conversation, the tools and these instructions;',
  'never invent prices, order details, policies or promises. If you cannot help, or the customer asks for a person,',
  'hand the conversation to a human colleague (use the handoff_to_human tool when it is available).',
  'Never ask for passwords, card numbers or other secrets.',
].join(' ');

/** Per-channel style instructions added to the system prompt. */
export const DEFAULT_CHANNEL_STYLES = {
  whatsapp:
    'Channel: WhatsApp. Keep answers short (a few sentences), phone-friendly. You may use light Markdown (**bold**, _italic_, short lists); it is converted to WhatsApp markup. No tables, no headings.',
  'wechat-kf':
    'Channel: WeChat. Write plain text only: no Markdown, no asterisks, no tables, no headings. Keep answers short (under 600 characters); use line breaks and numbered lines for steps.',
  chatwoot:
    'Channel: website chat (Chatwoot). You may use Markdown (bold, lists, links). Keep answers focused; use short paragraphs.',
  telegram:
    'Channel: Telegram. Keep answers short and phone-friendly. You may use Markdown (**bold**, _italic_, `code`, links, short lists); it is converted to Telegram formatting. No tables.',
} as const;

/** Shown when no LLM is configured and no FAQ/greeting matches. */
export const DEFAULT_OFFLINE = {
  en: 'Thanks for your message! Our automatic assistant is offline right now, so a member of our team will get back to you as soon as possible.',
  es: '¡Gracias por tu mensaje! Nuestro asistente automático no está disponible ahora mismo; una persona del equipo te responderá lo antes posible.',
  pt: 'Obrigado pela sua mensagem! O nosso assistente automático está offline neste momento; alguém da equipa responderá assim que possível.',
  fr: 'Merci pour votre message ! Notre assistant automatique est hors ligne pour le moment ; un membre de l’équipe vous répondra dès que possible.',
  de: 'Danke für Ihre Nachricht! Unser automatischer Assistent ist gerade offline; jemand aus unserem Team meldet sich so bald wie möglich.',
  zh: '感谢您的留言！智能助手暂时不在线，我们的工作人员会尽快回复您。',
};

/** Shown when the LLM keeps failing within the turn budget. */
export const DEFAULT_APOLOGY = {
  en: "Sorry, I'm having technical trouble answering right now. Please try again in a moment — if it keeps happening, a colleague will take over.",
  es: 'Lo siento, ahora mismo tengo problemas técnicos para responder. Inténtalo de nuevo en un momento; si sigue pasando, te atenderá una persona del equipo.',
  pt: 'Desculpe, estou com problemas técnicos para responder agora. Tente novamente daqui a pouco; se continuar, um colega irá ajudá-lo.',
  fr: 'Désolé, je rencontre un problème technique. Réessayez dans un instant ; si cela continue, un collègue prendra le relais.',
  de: 'Entschuldigung, ich habe gerade technische Probleme. Bitte versuchen Sie es gleich noch einmal – sonst übernimmt eine Kollegin oder ein Kollege.',
  zh: '抱歉，我暂时遇到技术问题，请稍后再试。如果问题持续，我们的工作人员会接手为您服务。',
};

/** Sent once per conversation for content the gateway cannot read, when `unsupportedContent.notice` is on. */
export const DEFAULT_UNSUPPORTED = {
  en: "Sorry, I can't read that type of message. Could you write it as text, or send a photo or a document instead?",
  es: 'Lo siento, no puedo leer ese tipo de mensaje. ¿Puedes escribirlo como texto o enviarlo como foto o documento?',
  pt: 'Desculpe, não consigo ler esse tipo de mensagem. Pode escrevê-la em texto ou enviar uma foto ou um documento?',
  fr: 'Désolé, je ne peux pas lire ce type de message. Pouvez-vous l’écrire en texte, ou envoyer une photo ou un document ?',
  de: 'Entschuldigung, diese Art von Nachricht kann ich nicht lesen. Können Sie sie als Text schreiben oder ein Foto bzw. Dokument senden?',
  zh: '抱歉，我无法读取这种类型的消息。请用文字描述，或发送图片或文件。',
};

/** Shown once when a customer exceeds the rate limit. */
export const DEFAULT_RATE_LIMITED = {
  en: "You're sending messages faster than I can answer. Please wait a minute and I'll be right with you.",
  es: 'Estás enviando mensajes más rápido de lo que puedo responder. Espera un minuto, por favor, y te contesto.',
  pt: 'Está a enviar mensagens mais depressa do que consigo responder. Aguarde um minuto, por favor.',
  fr: 'Vous envoyez des messages plus vite que je ne peux répondre. Merci de patienter une minute.',
  de: 'Sie senden Nachrichten schneller, als ich antworten kann. Bitte warten Sie eine Minute.',
  zh: '您发送消息的速度太快了，请稍等一分钟再发。',
};

/** Answer to a message caught by the moderation word lists. */
export const DEFAULT_MODERATION = {
  en: "Sorry, I can't help with that. Is there something else I can do for you?",
  es: 'Lo siento, no puedo ayudarte con eso. ¿Hay algo más en lo que pueda ayudarte?',
  pt: 'Desculpe, não posso ajudar com isso. Posso ajudar em mais alguma coisa?',
  fr: 'Désolé, je ne peux pas vous aider sur ce point. Puis-je faire autre chose pour vous ?',
  de: 'Damit kann ich leider nicht helfen. Kann ich sonst etwas für Sie tun?',
  zh: '抱歉，这个问题我无法协助。还有其他可以帮您的吗？',
};

/** Said when the conversation goes to a person. */
export const DEFAULT_HANDOFF = {
  en: "I'm passing you to a colleague from our team; they'll reply here as soon as possible.",
  es: 'Te paso con una persona de nuestro equipo; te responderá aquí lo antes posible.',
  pt: 'Vou passar a conversa a um colega da nossa equipa; ele responderá aqui assim que possível.',
  fr: 'Je vous mets en relation avec un membre de notre équipe ; il vous répondra ici dès que possible.',
  de: 'Ich übergebe an eine Kollegin oder einen Kollegen aus unserem Team; Sie bekommen hier so bald wie möglich eine Antwort.',
  zh: '我已为您转接人工客服，工作人员会尽快在这里回复您。',
};

/** Greetings answered locally (the whole message must be a greeting). */
export const DEFAULT_GREETINGS = {
  keywords: {
    en: ['hi', 'hello', 'hey', 'hiya', 'good morning', 'good afternoon', 'good evening', 'greetings'],
    es: ['hola', 'buenas', 'buenos dias', 'buenas tardes', 'buenas noches', 'saludos'],
    pt: ['ola', 'oi', 'bom dia', 'boa tarde', 'boa noite'],
    fr: ['bonjour', 'salut', 'bonsoir', 'coucou'],
    de: ['hallo', 'guten morgen', 'guten tag', 'guten abend', 'servus', 'moin'],
    zh: ['你好', '您好', '哈喽', '嗨', '早上好', '下午好', '晚上好', '在吗'],
  },
  answer: {
    en: 'Hi{name}! How can I help you today?',
    es: '¡Hola{name}! ¿En qué puedo ayudarte?',
    pt: 'Olá{name}! Em que posso ajudar?',
    fr: 'Bonjour{name} ! Comment puis-je vous aider ?',
    de: 'Hallo{name}! Wie kann ich helfen?',
    zh: '您好{name}！请问有什么可以帮您？',
  },
};

/** Thanks answered locally (the whole message must be thanks). */
export const DEFAULT_THANKS = {
  keywords: {
    en: ['thanks', 'thank you', 'thx', 'ty', 'cheers', 'great thanks', 'ok thanks', 'thanks a lot', 'many thanks'],
    es: ['gracias', 'muchas gracias', 'mil gracias', 'ok gracias', 'vale gracias'],
    pt: ['obrigado', 'obrigada', 'muito obrigado', 'muito obrigada', 'valeu'],
    fr: ['merci', 'merci beaucoup', 'merci bien'],
    de: ['danke', 'vielen dank', 'danke schon', 'dankeschon'],
    zh: ['谢谢', '多谢', '谢谢你', '谢谢您', '感谢', '好的谢谢'],
  },
  answer: {
    en: "You're welcome! Anything else I can help with?",
    es: '¡De nada! ¿Te puedo ayudar en algo más?',
    pt: 'De nada! Posso ajudar em mais alguma coisa?',
    fr: 'Avec plaisir ! Puis-je vous aider pour autre chose ?',
    de: 'Gern geschehen! Kann ich sonst noch helfen?',
    zh: '不客气！还有其他可以帮您的吗？',
  },
};

/** Phrases with which a customer asks for a person. */
export const DEFAULT_HANDOFF_TRIGGERS = {
  en: ['talk to a human', 'speak to a human', 'real person', 'human agent', 'talk to someone', 'speak to someone', 'customer service agent', 'talk to an agent', 'speak to an agent'],
  es: ['hablar con una persona', 'hablar con un humano', 'hablar con un agente', 'persona real', 'agente humano'],
  pt: ['falar com uma pessoa', 'falar com um humano', 'falar com um atendente', 'atendente humano'],
  fr: ['parler a un humain', 'parler a une personne', 'parler a un conseiller', 'conseiller humain'],
  de: ['mit einem menschen sprechen', 'mit einer person sprechen', 'echter mensch', 'mitarbeiter sprechen'],
  zh: ['转人工', '人工客服', '人工服务', '真人客服', '找人工'],
};

/** FAQ entries of the built-in configuration (AGENT_CONFIG unset). */
export const DEFAULT_FAQ = [
  {
    id: 'are-you-a-bot',
    match: {
      en: { keywords: ['are you a bot', 'are you a robot', 'are you human', 'are you real', 'am i talking to a bot'] },
      es: { keywords: ['eres un bot', 'eres un robot', 'eres humano', 'eres una persona'] },
      pt: { keywords: ['voce e um robo', 'voce e um bot', 'voce e humano'] },
      fr: { keywords: ['es tu un robot', 'etes vous un robot', 'etes vous humain'] },
      de: { keywords: ['bist du ein bot', 'sind sie ein bot', 'bist du ein mensch'] },
      zh: { keywords: ['你是机器人吗', '是机器人吗', '你是真人吗', '是真人吗'] },
    },
    answer: {
      en: "I'm the virtual assistant of {business}. I can answer most questions right away, and I can pass you to a person from our team whenever you like — just ask.",
      es: 'Soy el asistente virtual de {business}. Respondo al momento la mayoría de preguntas y, si lo prefieres, te paso con una persona del equipo: solo pídelo.',
      pt: 'Sou o assistente virtual de {business}. Respondo de imediato à maioria das perguntas e posso passar a conversa a uma pessoa da equipa sempre que quiser.',
      fr: 'Je suis l’assistant virtuel de {business}. Je réponds tout de suite à la plupart des questions et je peux vous mettre en relation avec une personne de l’équipe quand vous voulez.',
      de: 'Ich bin der virtuelle Assistent von {business}. Die meisten Fragen beantworte ich sofort, und auf Wunsch übergebe ich an eine Person aus unserem Team.',
      zh: '我是{business}的智能助手，大部分问题可以立即解答；如需人工服务，随时告诉我即可。',
    },
  },
  {
    id: 'delete-my-data',
    match: {
      en: { keywords: ['delete my data', 'erase my data', 'remove my data', 'forget me'] },
      es: { keywords: ['borrar mis datos', 'eliminar mis datos', 'olvidame'] },
      pt: { keywords: ['apagar os meus dados', 'apagar meus dados', 'excluir meus dados'] },
      fr: { keywords: ['supprimer mes donnees', 'effacer mes donnees'] },
      de: { keywords: ['meine daten loschen', 'daten loschen'] },
      zh: { keywords: ['删除我的数据', '删除我的信息', '删除个人信息'] },
    },
    answer: {
      en: 'Of course. Reply "talk to a human" and a colleague will erase your data and confirm it here.',
      es: 'Por supuesto. Responde "hablar con una persona" y alguien del equipo borrará tus datos y te lo confirmará aquí.',
      pt: 'Claro. Responda "falar com uma pessoa" e um colega apagará os seus dados e confirmará aqui.',
      fr: 'Bien sûr. Répondez « parler à une personne » et un collègue effacera vos données puis vous le confirmera ici.',
      de: 'Natürlich. Antworten Sie „mit einer Person sprechen“, dann löscht jemand aus dem Team Ihre Daten und bestätigt es hier.',
      zh: '没问题。请回复“转人工”，工作人员会删除您的数据并在这里向您确认。',
    },
  },
  {
    id: 'what-can-you-do',
    match: {
      en: { keywords: ['what can you do', 'how can you help', 'what do you do'] },
      es: { keywords: ['que puedes hacer', 'en que me puedes ayudar', 'como me puedes ayudar'] },
      pt: { keywords: ['o que voce pode fazer', 'como pode ajudar'] },
      fr: { keywords: ['que peux tu faire', 'que pouvez vous faire'] },
      de: { keywords: ['was kannst du', 'was konnen sie', 'wobei kannst du helfen'] },
      zh: { keywords: ['你能做什么', '你可以做什么', '能帮我什么'] },
    },
    answer: {
      en: 'I can answer questions about {business}, our products and services, and pass you to a person from our team when needed. What would you like to know?',
      es: 'Puedo responder preguntas sobre {business}, nuestros productos y servicios, y pasarte con una persona del equipo cuando haga falta. ¿Qué te gustaría saber?',
      pt: 'Posso responder a perguntas sobre {business}, os nossos produtos e serviços, e passar a conversa a uma pessoa da equipa quando for preciso. O que gostaria de saber?',
      fr: 'Je peux répondre à vos questions sur {business}, nos produits et services, et vous mettre en relation avec l’équipe si besoin. Que souhaitez-vous savoir ?',
      de: 'Ich beantworte Fragen zu {business}, unseren Produkten und Leistungen und übergebe bei Bedarf an unser Team. Was möchten Sie wissen?',
      zh: '我可以解答关于{business}及我们产品和服务的问题，需要时也可以为您转接人工。请问您想了解什么？',
    },
  },
];

/** Strict grounding, nothing relevant found: the agent says it does not know and hands over to a person. */
export const DEFAULT_UNKNOWN = {
  en: "I'm sorry, I don't have reliable information about that. I'm passing you to a colleague from our team, who will reply here as soon as possible.",
  es: 'Lo siento, no tengo información fiable sobre eso. Te paso con una persona de nuestro equipo, que te responderá aquí lo antes posible.',
  pt: 'Desculpe, não tenho informação fiável sobre isso. Vou passar a conversa a um colega da nossa equipa, que responderá aqui assim que possível.',
  fr: "Désolé, je n'ai pas d'information fiable à ce sujet. Je vous mets en relation avec un membre de notre équipe, qui vous répondra ici dès que possible.",
  de: 'Dazu habe ich leider keine verlässlichen Informationen. Ich übergebe an eine Kollegin oder einen Kollegen aus unserem Team; Sie bekommen hier so bald wie möglich eine Antwort.',
  zh: '抱歉，我没有这方面的可靠信息。我已为您转接人工客服，工作人员会尽快在这里回复您。',
};

/** Heading of the list of cited sources under an answer. */
export const DEFAULT_SOURCES_HEADING = { en: 'Sources:', es: 'Fuentes:', pt: 'Fontes:', fr: 'Sources :', de: 'Quellen:', zh: '来源：' };

/** Built-in opt-out keywords (AGENT_CONFIG `optOut.keywords` adds more). */
export const BUILTIN_OPT_OUT_KEYWORDS = ['stop', 'unsubscribe', '退订'] as const;
/** Built-in opt-in keywords (AGENT_CONFIG `optOut.optInKeywords` adds more). */
export const BUILTIN_OPT_IN_KEYWORDS = ['start'] as const;

/** Sent once when a customer opts out by keyword. */
export const DEFAULT_OPT_OUT_CONFIRMATION = {
  en: "You have been unsubscribed: we won't send you messages you did not ask for. Reply START to subscribe again. You can still write to us any time.",
  zh: '您已退订，我们不会再主动向您发送消息。回复 START 可重新订阅。您仍可随时给我们留言。',
};

/** Sent when a customer who had opted out opts in again. */
export const DEFAULT_OPT_IN_CONFIRMATION = {
  en: 'You are subscribed again. Reply STOP to unsubscribe.',
  zh: '您已重新订阅。回复 STOP 或“退订”可退订。',
};
